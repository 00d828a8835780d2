"""Data augmentation on whole batches, on the batch's device: every image gets its own random
crop, flip, colour jitter and rotation, drawn from one seeded generator. Labels are never
touched: the image changes, what it shows does not.

Why batched tensor ops instead of torchvision's per-image PIL transforms: the playground keeps
the data set resident on the device and slices batches (core.engine.train); a per-sample Python
loop would undo that. The random numbers are drawn on the CPU (a few per image) and moved to the
device, so one seed gives the same augmented images on every device.
"""
import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

GRAY = (0.2989, 0.587, 0.114)  # the luma weights of torchvision's rgb_to_grayscale


@dataclass(frozen=True)
class Augment:
    """Which augmentations a training applies, with their strengths (0 / False = off)."""
    crop_padding: int = 0   # random crop: pad each side with this many black pixels, cut the original size back out
    flip: bool = False      # mirror left-right, each image with probability 1/2
    jitter: float = 0.0     # colour jitter: brightness, contrast and saturation each × a factor in 1 ± jitter
    degrees: float = 0.0    # rotation by an angle drawn from [−degrees, +degrees]

    @property
    def active(self) -> bool:
        return bool(self.crop_padding or self.flip or self.jitter or self.degrees)

    def merged(self, other: "Augment") -> "Augment":
        """Each field from `other` where it is switched on, else from self."""
        return Augment(**{f.name: getattr(other, f.name) or getattr(self, f.name) for f in fields(self)})


# The toggles each data set offers, with the usual strengths. CIFAR-10: torchvision's classic
# RandomCrop(32, padding=4) + RandomHorizontalFlip, and a small ColorJitter(0.2, 0.2, 0.2).
# MNIST: a flipped or recoloured digit is not a better digit; small shifts and slants are.
OPTIONS = {
    "cifar": {"crop": Augment(crop_padding=4), "flip": Augment(flip=True), "jitter": Augment(jitter=0.2)},
    "mnist": {"crop": Augment(crop_padding=2), "rotate": Augment(degrees=15.0)},
}
DEFAULT_ON = {"cifar": ("crop", "flip"), "mnist": ("crop", "rotate")}  # the toggles switched on at first


def from_toggles(dataset: str, names) -> Augment:
    """The Augment for the toggles `names` (keys of OPTIONS[dataset]) that are on."""
    result = Augment()
    for name in names:
        result = result.merged(OPTIONS[dataset][name])
    return result


def generator(seed: int) -> torch.Generator:
    """The augmentation's own CPU generator: the same seed, the same sequence of random draws."""
    return torch.Generator().manual_seed(seed)


def random_crop(x: torch.Tensor, padding: int, gen: torch.Generator) -> torch.Tensor:
    """Pad (N, C, H, W) with `padding` zeros per side, then cut an H×W window at each image's
    own random offset (0..2×padding in each direction): two gathers with index grids."""
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=gen).to(x.device)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # (N, H): the rows each image keeps
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # (N, W)
    kept_rows = padded.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, padded.shape[3]))
    return kept_rows.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = (torch.rand(len(x), generator=gen) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] != 3:
        return x
    weights = torch.tensor(GRAY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def color_jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Floats in 0..1: brightness, contrast and saturation, each scaled by the image's own factor
    in [1 − strength, 1 + strength], the way torchvision's adjust_* do it (contrast blends with the
    mean gray level, saturation with each pixel's gray), clamped after each step. Saturation
    leaves one-channel images as they are."""
    factors = (1 + (torch.rand(3, len(x), generator=gen) * 2 - 1) * strength).to(x.device, x.dtype)
    brightness, contrast, saturation = (f.view(-1, 1, 1, 1) for f in factors)
    x = (x * brightness).clamp(0, 1)
    mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean).clamp(0, 1)
    if x.shape[1] == 3:
        gray = _gray(x)
        x = ((x - gray) * saturation + gray).clamp(0, 1)
    return x


def random_rotation(x: torch.Tensor, degrees: float, gen: torch.Generator) -> torch.Tensor:
    """Floats: rotate each image by its own angle drawn from [−degrees, +degrees]."""
    angles = (torch.rand(len(x), generator=gen) * 2 - 1) * math.radians(degrees)
    return rotate(x, angles.to(x.device, x.dtype))


def rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Floats (N, C, H, W): rotate image i about its centre by angles[i] radians (affine_grid +
    grid_sample, bilinear; corners that come from outside the image are black)."""
    cos, sin, zero = angles.cos(), angles.sin(), torch.zeros_like(angles)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment_batch(images: torch.Tensor, augment: Augment, gen: torch.Generator) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> the same number of augmented uint8 images, same device.

    Order as in torchvision's usual pipeline: crop, flip (exact on whole pixels), then rotation
    and colour jitter on floats, rounded back to whole gray levels so the page's Normalize reads
    them as it reads any image.
    """
    x = images
    if augment.crop_padding:
        x = random_crop(x, augment.crop_padding, gen)
    if augment.flip:
        x = random_flip(x, gen)
    if augment.degrees or augment.jitter:
        f = x.float() / 255.0
        if augment.degrees:
            f = random_rotation(f, augment.degrees, gen)
        if augment.jitter:
            f = color_jitter(f, augment.jitter, gen)
        x = (f * 255.0).round_().clamp_(0, 255).to(torch.uint8)
    return x


def examples(images: torch.Tensor, augment: Augment, versions: int, seed: int) -> torch.Tensor:
    """(K, C, H, W) uint8 images -> (K, versions, C, H, W): each image `versions` times, each
    version its own draw (one batch of K × versions images)."""
    k = len(images)
    batch = images.repeat_interleave(versions, dim=0)
    return augment_batch(batch, augment, generator(seed)).view(k, versions, *images.shape[1:])
