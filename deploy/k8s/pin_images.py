"""Pin deploy/k8s to one build of the images: `images:` in kustomization.yaml.

    python deploy/k8s/pin_images.py --tag 3f2a9c1d0b7e [--registry registry.example.com/crm]

Every service's image `crm/<service>` becomes `<registry>/<service>:<tag>` (the
registry only if given). `make images` builds the images tagged with the git commit
and runs this; `make k8s-images TAG=... REGISTRY=...` runs only this. A tag must be a
valid image tag and never `latest`, which would let a node run whatever was pushed last.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

KUSTOMIZATION = Path(__file__).resolve().parent / "kustomization.yaml"
#: Docker's grammar for a tag.
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: A registry and path: host[:port]/path, lower case (no tag, no digest).
REGISTRY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*")
IMAGES_HEADER = "\nimages:\n"


def check_tag(tag: str) -> str:
    if not TAG.fullmatch(tag):
        raise ValueError(f"not an image tag: {tag!r}")
    if tag == "latest":
        raise ValueError("refusing the tag `latest`: pin a build (the git commit)")
    return tag


def pinned(text: str, tag: str, registry: str | None) -> str:
    """`text` (a kustomization.yaml) with every `crm/<service>` image set to `tag`."""
    check_tag(tag)
    if registry is not None and not REGISTRY.fullmatch(registry):
        raise ValueError(f"not a registry path: {registry!r}")
    head, found, _ = text.partition(IMAGES_HEADER)
    if not found:
        raise ValueError("kustomization.yaml has no top-level `images:` list (it must be the last key)")
    images = yaml.safe_load(text).get("images") or []
    lines = [IMAGES_HEADER.lstrip("\n").rstrip("\n")]
    for image in images:
        name = image["name"]
        service = name.removeprefix("crm/")
        lines.append(f"  - name: {name}")
        if registry is not None:
            lines.append(f"    newName: {registry}/{service}")
        elif "newName" in image:
            lines.append(f"    newName: {image['newName']}")
        lines.append(f"    newTag: {tag}")
    if not images:
        raise ValueError("kustomization.yaml lists no images")
    return head + "\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", required=True, help="the images' tag: the build's git commit")
    parser.add_argument("--registry", help="where the images are pushed, e.g. registry.example.com/crm")
    parser.add_argument("--file", type=Path, default=KUSTOMIZATION)
    args = parser.parse_args(argv)
    try:
        text = pinned(args.file.read_text(), args.tag, args.registry)
    except ValueError as exc:
        sys.exit(f"pin_images: {exc}")
    args.file.write_text(text)
    print(f"pin_images: {args.file.name} now runs the images tagged {args.tag}")


if __name__ == "__main__":
    main()
