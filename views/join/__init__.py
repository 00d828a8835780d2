"""The join page of a closed class server."""
