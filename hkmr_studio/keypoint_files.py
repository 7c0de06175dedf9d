"""Keypoint files matched to the photos they belong to, each photo with its own people (Qt-free).

Three kinds of source, told apart by what `--keypoints` names:
- a COCO annotations file with "images" ({"id", "file_name"}) and "annotations" ({"image_id", "keypoints"}): each
  photo is matched by file name (the base name of "file_name") and gets every annotation of its image as a person;
  annotations without a labelled keypoint (COCO's crowd regions, people with num_keypoints 0) are left out;
- a folder of keypoint JSONs: each photo is matched by file stem (photo.jpg <-> photo.json); a file holds one person
  (any form `pipeline.keypoints.load_keypoints_json` reads) or several (a COCO {"annotations": [...]} list, each
  annotation one person);
- any other single file: one photo's keypoints (its people as in a folder's file), for exactly one photo.
A photo that cannot be matched is refused, naming it, before anything is processed. Coordinates are pixels of the
photo's file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hkmr_studio.pipeline.keypoints import (
    KeypointFileError,
    Keypoints2D,
    _coco_annotation,
    _read_json,
    load_keypoints_json,
)

#: How many unmatched photos a refusal names before "and N more".
NAMED_IN_MESSAGE = 5


def keypoints_for_photos(source: str | Path, photos: list[Path]) -> dict[Path, list[Keypoints2D]]:
    """Each of `photos` with the people `source` gives it (see the module docstring). Raises KeypointFileError,
    naming the file and the photos it cannot be matched to."""
    source = Path(source)
    if source.is_dir():
        return _from_folder(source, photos)
    try:
        data = _read_json(source)
    except KeypointFileError as exc:
        raise KeypointFileError(f"'{source.name}': {exc}") from None
    if isinstance(data, dict) and "images" in data:
        return _from_coco_file(source, data, photos)
    if len(photos) != 1:
        raise KeypointFileError(
            f"'{source.name}' holds the keypoints of one photo but {len(photos)} photos were given: give one photo, "
            'a COCO file with "images" and their file names, or a folder of JSON files named like the photos')
    return {photos[0]: _people_in_file(source, data)}


def _from_folder(folder: Path, photos: list[Path]) -> dict[Path, list[Keypoints2D]]:
    files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() == ".json" and p.is_file()}
    _refuse_unmatched(f"folder '{folder}'", [p for p in photos if p.stem not in files],
                      "add a JSON file named like each photo (photo.jpg -> photo.json)")
    matched = {}
    for photo in photos:
        path = files[photo.stem]
        try:
            data = _read_json(path)
        except KeypointFileError as exc:
            raise KeypointFileError(f"'{path.name}': {exc}") from None
        matched[photo] = _people_in_file(path, data)
    return matched


def _people_in_file(path: Path, data: Any) -> list[Keypoints2D]:
    """The people of one photo's keypoint file: every annotation of a COCO {"annotations"} file, else one person."""
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        people = _annotated_people(path, data["annotations"], range(len(data["annotations"])))
        if not people:
            raise KeypointFileError(f"'{path.name}': no annotation has a labelled keypoint")
        return people
    return [load_keypoints_json(path)]


def _from_coco_file(path: Path, data: dict[str, Any], photos: list[Path]) -> dict[Path, list[Keypoints2D]]:
    images, annotations = data.get("images"), data.get("annotations")
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise KeypointFileError(f"'{path.name}': \"images\" and \"annotations\" must both be lists")
    ids_by_name: dict[str, list[Any]] = {}
    for i, image in enumerate(images):
        if not (isinstance(image, dict) and isinstance(image.get("file_name"), str) and "id" in image):
            raise KeypointFileError(f'\'{path.name}\': image {i} needs "id" and "file_name"')
        ids_by_name.setdefault(Path(image["file_name"].replace("\\", "/")).name, []).append(image["id"])
    _refuse_unmatched(f"'{path.name}'", [p for p in photos if p.name not in ids_by_name],
                      'add the photos to its "images" (by file name), or give only photos it lists')
    by_image: dict[Any, list[int]] = {}
    for i, annotation in enumerate(annotations):
        if isinstance(annotation, dict) and "image_id" in annotation:
            by_image.setdefault(annotation["image_id"], []).append(i)
    matched = {}
    for photo in photos:
        ids = ids_by_name[photo.name]
        if len(ids) > 1:
            raise KeypointFileError(f"'{path.name}' lists {len(ids)} images named {photo.name}: file names must tell "
                                    "the photos apart")
        people = _annotated_people(path, annotations, by_image.get(ids[0], []))
        if not people:
            raise KeypointFileError(f"'{path.name}' has no annotation with a labelled keypoint for {photo.name}: add "
                                    "its people, or leave the photo out")
        matched[photo] = people
    return matched


def _annotated_people(path: Path, annotations: list[Any], indices: Any) -> list[Keypoints2D]:
    """The annotations at `indices` that are people with at least one labelled keypoint (not crowd regions)."""
    people = []
    for i in indices:
        annotation = annotations[i]
        if not isinstance(annotation, dict) or annotation.get("iscrowd", 0) or not _labelled(annotation):
            continue
        try:
            people.append(_coco_annotation(annotations, i))
        except KeypointFileError as exc:
            raise KeypointFileError(f"'{path.name}': {exc}") from None
    return people


def _labelled(annotation: dict[str, Any]) -> bool:
    """Whether a COCO annotation gives keypoints with some v > 0 (malformed ones count, so the parser names them)."""
    values = annotation.get("keypoints")
    if not isinstance(values, list) or len(values) % 3:
        return values is not None
    return any(v != 0 for v in values[2::3])


def _refuse_unmatched(source: str, unmatched: list[Path], advice: str) -> None:
    if not unmatched:
        return
    names = ", ".join(p.name for p in unmatched[:NAMED_IN_MESSAGE])
    more = f" and {len(unmatched) - NAMED_IN_MESSAGE} more" if len(unmatched) > NAMED_IN_MESSAGE else ""
    raise KeypointFileError(f"{source} has no keypoints for {len(unmatched)} photo(s): {names}{more}; {advice}")
