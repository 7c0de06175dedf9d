"""Synthetic occluders: the paper's sizes per degree of occlusion, exact coverage, and drawing what they cover."""

import math

import numpy as np
import pytest

from hkmr_studio.occlusion import Bar, Circle, Rectangle, make_occluder, noise_texture


@pytest.mark.parametrize("degree", [1, 2, 3, 4, 5])
def test_sizes_per_degree_follow_the_paper(degree):
    bar = make_occluder("bar", degree, (112, 112), angle=0.4)
    circle = make_occluder("circle", degree, (112, 112))
    rectangle = make_occluder("rectangle", degree, (112, 112), angle=0.4, aspect=2.0)
    assert isinstance(bar, Bar) and bar.width == pytest.approx(10 * degree) and bar.length == 224
    assert isinstance(circle, Circle) and circle.radius == pytest.approx(10 * degree)
    assert isinstance(rectangle, Rectangle) and rectangle.width * rectangle.height == pytest.approx(3000 * degree)
    assert rectangle.width / rectangle.height == pytest.approx(2.0)
    doubled = make_occluder("rectangle", degree, (224, 224), crop_size=448)
    assert doubled.width * doubled.height == pytest.approx(4 * 3000 * degree)
    assert make_occluder("bar", degree, (0, 0), crop_size=448).width == pytest.approx(20 * degree)


@pytest.mark.parametrize("degree", [1, 3, 5])
def test_a_bar_is_10_d_pixels_wide_at_a_224_px_crop(degree):
    horizontal = make_occluder("bar", degree, (112.0, 112.0), angle=0.0)
    assert horizontal.mask(224, 224)[:, 112].sum() == 10 * degree  # pixel rows it covers in one column
    angle = math.radians(35)
    bar = make_occluder("bar", degree, (112.0, 112.0), angle=angle)
    across = np.array([-math.sin(angle), math.cos(angle)])
    half = 5.0 * degree
    inside = np.array([112.0, 112.0]) + np.outer([-half + 1e-6, 0.0, half - 1e-6], across)
    outside = np.array([112.0, 112.0]) + np.outer([-half - 1e-3, half + 1e-3], across)
    assert bar.covers(inside).all() and not bar.covers(outside).any()


def test_covers_rotated_rectangles_and_circles():
    rectangle = Rectangle(center=(50.0, 50.0), angle=math.pi / 2, width=40.0, height=10.0)  # 40 px along +y
    assert rectangle.covers(np.array([[50, 69], [54, 50]])).all()
    assert not rectangle.covers(np.array([[50, 71], [56, 50]])).any()
    circle = Circle(center=(10.0, 10.0), radius=5.0)
    assert circle.covers(np.array([[10, 15], [13, 14]])).all() and not circle.covers(np.array([[14, 14]])).any()


def test_draw_paints_exactly_the_covered_pixels_flat_or_textured():
    image = np.zeros((64, 80, 3), dtype=np.uint8)
    circle = make_occluder("circle", 2, (30.0, 20.0))
    mask = circle.mask(64, 80)
    flat = circle.draw(image, color=(200, 10, 30))
    assert (flat[mask] == [200, 10, 30]).all() and (flat[~mask] == 0).all() and (image == 0).all()
    texture = noise_texture(64, 80, np.random.default_rng(0))
    textured = circle.draw(image, texture=texture)
    assert (textured[mask] == texture[mask]).all() and (textured[~mask] == 0).all()
    assert textured[mask].std() > 5  # not flat


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="kind"):
        make_occluder("triangle", 1, (0, 0))
    with pytest.raises(ValueError, match="degree"):
        make_occluder("bar", 6, (0, 0))
    with pytest.raises(ValueError, match="RGB"):
        make_occluder("bar", 1, (0, 0)).draw(np.zeros((4, 4), dtype=np.uint8))
