"""The procedural face renderer: outputs, determinism, segmentation, and the expression cues."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr

from avemo.data.synthetic import faces as F

SIZE = 96


def _identities(n: int, seed: int = 0) -> list[F.Identity]:
    rng = np.random.default_rng(seed)
    return [F.Identity.sample(rng) for _ in range(n)]


def _similarity(lm: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]):
    t = np.radians(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (lm @ rot.T) * scale + np.asarray(shift)


def test_shapes_and_dtypes():
    rgb, lm, seg = F.render_face(F.Identity(), 0.3, -0.2, 0.5)
    assert rgb.shape == (SIZE, SIZE, 3) and rgb.dtype == np.uint8
    assert lm.shape == (F.N_LANDMARKS, 2) == (70, 2) and lm.dtype == np.float32
    assert seg.shape == (SIZE, SIZE) and seg.dtype == np.uint8
    rgb, lm, seg = F.render_face(F.Identity(), 0.0, 0.0, size=64)
    assert rgb.shape == (64, 64, 3) and seg.shape == (64, 64)
    pair = F.render_pair(dict(identity=F.Identity(), valence=1.0, arousal=0.0),
                         (F.Identity(hair_style=1), -1.0, 0.5), size=48)
    assert pair.shape == (48, 96, 3) and pair.dtype == np.uint8
    assert np.array_equal(pair[:, :48], F.render_face(F.Identity(), 1.0, 0.0, size=48)[0])


def test_determinism_and_nuisance_touches_rgb_only():
    idt = _identities(1, seed=5)[0]
    pose = F.Pose(yaw=10, pitch=-5, roll=7, scale=1.05, dx=0.02, dy=-0.01)
    noisy = F.Nuisance(brightness=0.1, contrast=1.2, light_direction=(0.4, 30.0), blur_sigma=0.8,
                       noise_sigma=0.03)
    a = F.render_face(idt, 0.4, 0.6, 0.3, pose, noisy, rng=np.random.default_rng(1))
    b = F.render_face(idt, 0.4, 0.6, 0.3, pose, noisy, rng=np.random.default_rng(1))
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    c = F.render_face(idt, 0.4, 0.6, 0.3, pose, noisy, rng=np.random.default_rng(2))
    assert not np.array_equal(a[0], c[0])
    clean = F.render_face(idt, 0.4, 0.6, 0.3, pose)
    assert not np.array_equal(a[0], clean[0])
    assert np.array_equal(a[1], clean[1]) and np.array_equal(a[2], clean[2])


def test_seg_uses_only_faceSynthetics_ids_and_main_classes():
    rng = np.random.default_rng(2)
    seen: set[int] = set()
    for idt in _identities(25, seed=2):
        _, _, seg = F.render_face(idt, rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0, 1),
                                  F.Pose.sample(rng), F.Nuisance.sample(rng, 2.0), rng=rng)
        ids = set(np.unique(seg).tolist())
        assert ids <= set(F.SEG_CLASSES)
        seen |= ids
    must = {F.BACKGROUND, F.SKIN, F.NOSE, F.RIGHT_EYE, F.LEFT_EYE, F.RIGHT_BROW, F.LEFT_BROW,
            F.UPPER_LIP, F.LOWER_LIP, F.MOUTH, F.NECK, F.HAIR, F.CLOTHING}
    assert must <= seen


def test_seg_agrees_with_landmarks():
    """The drawn parts sit where their landmarks say, also under a rolled, shifted pose."""
    for pose in (F.Pose(), F.Pose(roll=15, scale=1.05, dx=0.03, yaw=8)):
        _, lm, seg = F.render_face(F.Identity(), 0.5, 0.8, 1.0, pose, size=128)

        def cls(p, seg=seg):
            x, y = np.round(p).astype(int)
            return seg[y, x]

        assert cls(lm[30]) == F.NOSE
        assert cls(lm[68]) == F.RIGHT_EYE and cls(lm[69]) == F.LEFT_EYE
        assert cls(lm[19]) == F.RIGHT_BROW and cls(lm[24]) == F.LEFT_BROW
        assert cls((lm[62] + lm[66]) / 2) == F.MOUTH
        assert cls((lm[51] + lm[62]) / 2) == F.UPPER_LIP
        assert cls((lm[57] + lm[66]) / 2) == F.LOWER_LIP
        assert cls((lm[30] + lm[33]) / 2) == F.NOSE
        assert cls((lm[8] + lm[57]) / 2) in (F.SKIN, F.BEARD)


def test_landmarks_inside_image_for_default_poses():
    rng = np.random.default_rng(3)
    for k, idt in enumerate(_identities(60, seed=3)):
        pose = F.Pose() if k % 4 == 0 else F.Pose.sample(rng, 1.0)
        v, a = (1.0, 1.0) if k % 2 else (-1.0, 1.0)
        _, lm, _ = F.render_face(idt, v, a, 1.0, pose)
        assert np.isfinite(lm).all()
        assert lm.min() >= 0.0 and lm.max() <= SIZE - 1


def test_mouth_curvature_increases_with_valence():
    rng = np.random.default_rng(4)
    vs = np.linspace(-1, 1, 9)
    for idt in _identities(6, seed=4):
        pose = F.Pose.sample(rng, 0.5)
        for arousal in (-0.5, 0.7):
            curv = [F.mouth_curvature(F.render_face(idt, v, arousal, 0.0, pose)[1]) for v in vs]
            assert np.all(np.diff(curv) > 0), curv
        neutral = F.mouth_curvature(F.render_face(idt, 0.0, 0.0)[1])
        assert F.mouth_curvature(F.render_face(idt, 1.0, 0.0)[1]) > neutral + 0.15
        assert F.mouth_curvature(F.render_face(idt, -1.0, 0.0)[1]) < neutral - 0.15


def test_mouth_curvature_tracks_valence_with_nuisance_on():
    """Within one identity, with random arousal, speech, pose and nuisance per frame."""
    rng = np.random.default_rng(6)
    for idt in _identities(4, seed=6):
        vs = rng.uniform(-1, 1, 40)
        curv = [
            F.mouth_curvature(F.render_face(
                idt, v, rng.uniform(-1, 1), rng.uniform(0, 0.6), F.Pose.sample(rng),
                F.Nuisance.sample(rng), rng=rng)[1])
            for v in vs
        ]
        assert pearsonr(vs, curv)[0] > 0.9


def test_eye_opening_increases_with_arousal():
    rng = np.random.default_rng(7)
    arousals = np.linspace(-1, 1, 9)
    for idt in _identities(6, seed=7):
        pose = F.Pose.sample(rng, 0.5)
        for valence in (-0.6, 0.0, 0.8):
            eyes = [F.eye_opening(F.render_face(idt, valence, a, 0.0, pose)[1]) for a in arousals]
            assert np.all(np.diff(eyes) > 0), eyes


def test_speech_open_increases_mouth_opening():
    rng = np.random.default_rng(8)
    for idt in _identities(4, seed=8):
        pose = F.Pose.sample(rng, 0.5)
        for arousal in (-1.0, 0.5):
            m = [F.mouth_opening(F.render_face(idt, 0.2, arousal, s, pose)[1])
                 for s in np.linspace(0, 1, 6)]
            assert np.all(np.diff(m) > 0), m
        closed = F.mouth_opening(F.render_face(idt, 0.0, -1.0, 0.0)[1])
        assert closed == pytest.approx(0.0, abs=1e-6)
        assert F.mouth_opening(F.render_face(idt, 0.0, 1.0, 0.0)[1]) > closed


@pytest.mark.parametrize("fn", [F.mouth_curvature, F.eye_opening, F.mouth_opening])
def test_measurements_invariant_to_roll_scale_shift(fn):
    idt = _identities(1, seed=9)[0]
    base = F.render_face(idt, 0.6, 0.4, 0.3)[1]
    # exact invariance under similarity transforms of the landmarks themselves
    moved = _similarity(base.astype(np.float64), 23.0, 1.7, (11.0, -4.0))
    assert fn(moved) == pytest.approx(fn(base), abs=1e-9)
    # and under rendered roll / scale / shift (landmarks are float: no pixel rounding)
    for pose in (F.Pose(roll=15), F.Pose(scale=1.1, dx=0.05, dy=-0.03),
                 F.Pose(roll=-12, scale=0.9, dx=-0.04, dy=0.03)):
        assert fn(F.render_face(idt, 0.6, 0.4, 0.3, pose)[1]) == pytest.approx(fn(base), abs=1e-3)


def test_measurements_accept_batches():
    lms = np.stack([F.render_face(F.Identity(), v, 0.0)[1] for v in (-1.0, 0.0, 1.0)])
    for fn in (F.mouth_curvature, F.eye_opening, F.mouth_opening):
        out = fn(lms)
        assert out.shape == (3,)
        assert out[2] == pytest.approx(fn(lms[2]))
    assert isinstance(F.mouth_curvature(lms[0]), float)
    assert F.mouth_curvature(lms[:, :68]).shape == (3,)


@pytest.mark.parametrize("kind", ["rect", "hand"])
def test_occlusion_paints_seg_but_never_moves_landmarks(kind):
    idt = F.Identity(has_glasses=True)
    occ = F.Occlusion(kind=kind, cx=0.45, cy=0.7, width=0.3, height=0.25, angle=20,
                      rgb=(200, 40, 40), seg_class=F.FACEWEAR if kind == "rect" else F.CLOTHING)
    pose = F.Pose(yaw=5, roll=4)
    rgb0, lm0, seg0 = F.render_face(idt, -0.5, 0.5, 0.4, pose)
    rgb1, lm1, seg1 = F.render_face(idt, -0.5, 0.5, 0.4, pose, F.Nuisance(occlusion=occ))
    assert np.array_equal(lm0, lm1)
    assert not np.array_equal(rgb0, rgb1)
    changed = seg0 != seg1
    assert changed.sum() > 100
    assert np.all(seg1[changed] == occ.seg_class)


def test_samplers_are_seeded_and_defaults_are_clean():
    r1, r2 = np.random.default_rng(10), np.random.default_rng(10)
    assert F.Identity.sample(r1) == F.Identity.sample(r2)
    assert F.Pose.sample(r1) == F.Pose.sample(r2)
    assert F.Nuisance.sample(r1) == F.Nuisance.sample(r2)
    assert F.Pose.sample(np.random.default_rng(0), 0.0) == F.Pose()
    n = F.Nuisance()
    assert n.occlusion is None and n.noise_sigma == 0 and n.blur_sigma == 0
