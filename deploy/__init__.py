"""Serving the playground to a class: replicas behind HAProxy here, containers and Kubernetes beyond."""
