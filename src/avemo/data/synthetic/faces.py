"""Procedural cartoon faces for the synthetic emotion corpora.

One call of :func:`render_face` draws one frame of a face whose expression follows a latent
(valence, arousal) and returns the RGB image, 70 landmarks (the 68 iBUG-300W points in the
standard order, then the right and left pupils) and a FaceSynthetics segmentation map.

The expression mapping is the scientific point of the corpus:

- **valence** bends the mouth strongly (corners up for positive, down for negative, clearly
  visible at 96 px), widens it a little and raises the cheeks slightly;
- **arousal** opens the eyes, raises the brows and opens the mouth moderately (with negative
  valence it also pulls the inner brows down when aroused and up when subdued);
- **speech_open** (the speech envelope, lip sync) drops the jaw and parts the lips additively.

Everything is built once as points in a canonical face frame (x right, y down, roughly one
unit per half face-height), pushed through one pose transform (yaw/pitch foreshortening,
roll, scale, shift), and then filled with OpenCV polygons: the RGB at 2x supersampling with
anti-aliasing, the segmentation map at full resolution without. The landmarks are vertices
of (or points on) the very curves that are drawn, so they move exactly as the drawing does.
Nuisances (light gradient, brightness/contrast, blur, noise, occluders) touch the RGB only;
an occluder also paints its class into the segmentation map but never moves a landmark.

The measurement functions (:func:`mouth_curvature`, :func:`eye_opening`,
:func:`mouth_opening`) read landmarks only and are invariant to scale, translation and roll;
the corpus report uses them to prove that the cues exist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

__all__ = [
    "HAIR_STYLES",
    "N_LANDMARKS",
    "SEG_CLASSES",
    "Identity",
    "Nuisance",
    "Occlusion",
    "Pose",
    "eye_opening",
    "mouth_curvature",
    "mouth_opening",
    "render_face",
    "render_pair",
]

RGB = tuple[int, int, int]

# FaceSynthetics segmentation classes.
BACKGROUND, SKIN, NOSE, RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, RIGHT_EAR, LEFT_EAR = range(9)
MOUTH, UPPER_LIP, LOWER_LIP, NECK, HAIR, BEARD, CLOTHING, GLASSES, HEADWEAR, FACEWEAR = range(9, 19)
IGNORE = 255
SEG_CLASSES: tuple[int, ...] = (*range(19), IGNORE)

N_LANDMARKS = 70
HAIR_STYLES = 6  # 0 short, 1 long, 2 buzz, 3 curly, 4 bun, 5 bangs/bob

_SS = 2  # RGB supersampling factor
_SHIFT = 4  # fixed-point bits for cv2 polygon coordinates
_FP = float(1 << _SHIFT)
_UNIT = 0.30  # one canonical unit, as a fraction of the image size (at pose.scale 1)
_CY = 0.45  # image row of the canonical origin (between the eyes), as a fraction of size

_SKIN_TONES = np.array(
    [(255, 224, 196), (241, 194, 167), (224, 172, 138), (198, 134, 96), (161, 102, 70),
     (115, 72, 48), (82, 54, 40)], np.float64,
)
_HAIR_COLOURS = np.array(
    [(22, 17, 14), (58, 38, 24), (105, 70, 42), (185, 145, 90), (140, 62, 30), (190, 190, 188)],
    np.float64,
)
_IRIS_COLOURS = np.array(
    [(92, 60, 34), (52, 34, 22), (70, 112, 160), (78, 118, 70), (122, 98, 52)], np.float64
)


def _rgb(c) -> RGB:
    r, g, b = (int(np.clip(round(float(x)), 0, 255)) for x in c)
    return (r, g, b)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Identity:
    """Who the face is: shape, colours and accessories. Multipliers are 1.0 for average."""

    face_ratio: float = 0.80  # face width / height
    jaw_width: float = 0.5  # 0 narrow, pointed chin .. 1 wide, square jaw
    eye_spacing: float = 1.0
    eye_size: float = 1.0
    nose_length: float = 1.0
    mouth_width: float = 1.0
    brow_thickness: float = 1.0
    skin_rgb: RGB = (224, 172, 138)
    hair_rgb: RGB = (58, 38, 24)
    hair_style: int = 0  # 0..HAIR_STYLES-1
    has_beard: bool = False
    has_glasses: bool = False
    background_rgb: RGB = (150, 170, 190)
    mouth_offset: float = 0.0  # neutral mouth-corner lift, in valence units (small)
    iris_rgb: RGB = (92, 60, 34)
    clothing_rgb: RGB = (60, 90, 140)

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Identity:
        u = rng.uniform
        style = int(rng.integers(HAIR_STYLES))
        t = u(0, len(_SKIN_TONES) - 1)
        i = int(t)
        skin = _SKIN_TONES[i] + (t - i) * (_SKIN_TONES[min(i + 1, len(_SKIN_TONES) - 1)] - _SKIN_TONES[i])
        skin = skin * u(0.95, 1.05) + rng.normal(0, 4, 3)
        hair = _HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))] * u(0.85, 1.15) + rng.normal(0, 5, 3)
        iris = _IRIS_COLOURS[rng.integers(len(_IRIS_COLOURS))] + rng.normal(0, 6, 3)
        bg = cv2.cvtColor(
            np.uint8([[[u(0, 180), u(20, 110), u(90, 225)]]]), cv2.COLOR_HSV2RGB
        )[0, 0]
        cloth = cv2.cvtColor(
            np.uint8([[[u(0, 180), u(30, 200), u(40, 210)]]]), cv2.COLOR_HSV2RGB
        )[0, 0]
        return cls(
            face_ratio=float(u(0.73, 0.88)),
            jaw_width=float(u(0.0, 1.0)),
            eye_spacing=float(u(0.9, 1.1)),
            eye_size=float(u(0.85, 1.15)),
            nose_length=float(u(0.85, 1.15)),
            mouth_width=float(u(0.88, 1.12)),
            brow_thickness=float(u(0.7, 1.4)),
            skin_rgb=_rgb(skin),
            hair_rgb=_rgb(hair),
            hair_style=style,
            has_beard=bool(u() < (0.3 if style in (0, 2, 3) else 0.04)),
            has_glasses=bool(u() < 0.2),
            background_rgb=_rgb(bg),
            mouth_offset=float(np.clip(rng.normal(0, 0.08), -0.2, 0.2)),
            iris_rgb=_rgb(iris),
            clothing_rgb=_rgb(cloth),
        )


@dataclass(frozen=True)
class Pose:
    """Head pose. Angles in degrees: roll rotates in the image plane; yaw and pitch
    foreshorten and shift the features. ``scale`` multiplies the face size; ``dx``/``dy``
    shift it by fractions of the image size."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    @classmethod
    def sample(cls, rng: np.random.Generator, amount: float = 1.0) -> Pose:
        z = rng.standard_normal(6)
        k = float(amount)
        return cls(
            yaw=float(np.clip(12.0 * k * z[0], -25.0, 25.0)),
            pitch=float(np.clip(7.0 * k * z[1], -15.0, 15.0)),
            roll=float(np.clip(8.0 * k * z[2], -18.0, 18.0)),
            scale=float(np.clip(1.0 + 0.06 * k * z[3], 0.88, 1.1)),
            dx=float(np.clip(0.03 * k * z[4], -0.06, 0.06)),
            dy=float(np.clip(0.02 * k * z[5], -0.04, 0.04)),
        )


@dataclass(frozen=True)
class Occlusion:
    """An occluder in image-relative coordinates (centre, size, angle in degrees):
    ``kind`` "rect" (a card, phone, mask ...) or "hand" (a palm with fingers)."""

    kind: str = "rect"
    cx: float = 0.5
    cy: float = 0.75
    width: float = 0.3
    height: float = 0.2
    angle: float = 0.0
    rgb: RGB = (200, 200, 200)
    seg_class: int = FACEWEAR  # FACEWEAR or CLOTHING

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Occlusion:
        hand = bool(rng.uniform() < 0.5)
        if hand:
            t = rng.uniform(0, len(_SKIN_TONES) - 1)
            rgb = _rgb(_SKIN_TONES[round(t)] + rng.normal(0, 5, 3))
        else:
            rgb = _rgb(rng.uniform(20, 235, 3))
        side = rng.choice([-1.0, 1.0])
        return cls(
            kind="hand" if hand else "rect",
            cx=float(0.5 + side * rng.uniform(0.12, 0.38)),
            cy=float(rng.uniform(0.45, 0.9)),
            width=float(rng.uniform(0.16, 0.3)),
            height=float(rng.uniform(0.16, 0.3)),
            angle=float(rng.uniform(-60, 60)),
            rgb=rgb,
            seg_class=CLOTHING if hand else FACEWEAR,
        )


@dataclass(frozen=True)
class Nuisance:
    """Imaging nuisances, applied to the RGB only. ``brightness`` is an offset in units of
    full scale, ``contrast`` a gain about mid-grey, ``light_direction`` = (strength, angle in
    degrees) of a multiplicative linear light gradient, ``blur_sigma`` and ``noise_sigma``
    are in pixels of a 96-px frame and in units of full scale. Default: clean."""

    brightness: float = 0.0
    contrast: float = 1.0
    light_direction: tuple[float, float] = (0.0, 0.0)
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    occlusion: Occlusion | None = None

    @classmethod
    def sample(cls, rng: np.random.Generator, amount: float = 1.0) -> Nuisance:
        k = float(amount)
        z = rng.standard_normal(2)
        u = rng.uniform(size=6)
        occ = Occlusion.sample(rng) if u[5] < 0.25 * k else None
        return cls(
            brightness=float(np.clip(0.08 * k * z[0], -0.2, 0.2)),
            contrast=float(np.clip(1.0 + 0.12 * k * z[1], 0.7, 1.3)),
            light_direction=(float(0.45 * k * u[0]), float(360.0 * u[1])),
            blur_sigma=float(1.0 * k * u[2] ** 2),
            noise_sigma=float(0.035 * k * u[3]),
            occlusion=occ,
        )


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Block:
    """Named point sets in the canonical frame (x right, y down). Face-surface points carry
    a depth offset ``dz`` above the head surface; silhouette points (``sil``) carry none."""

    xy: np.ndarray
    dz: np.ndarray
    sil: np.ndarray
    idx: dict[str, tuple[int, int]]


class _Geo:
    def __init__(self) -> None:
        self.xy: list[np.ndarray] = []
        self.dz: list[np.ndarray] = []
        self.sil: list[tuple[int, int]] = []
        self.idx: dict[str, tuple[int, int]] = {}
        self.n = 0

    def add(self, name: str, xy, dz: np.ndarray | float | None = None) -> None:
        """Add a point set; ``dz`` None makes it a silhouette (outline) set."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        m = len(xy)
        self.idx[name] = (self.n, self.n + m)
        self.xy.append(xy)
        if dz is None:
            self.sil.append((self.n, self.n + m))
            self.dz.append(np.zeros(m))
        else:
            self.dz.append(np.full(m, dz) if np.ndim(dz) == 0 else np.asarray(dz, np.float64))
        self.n += m

    def block(self) -> _Block:
        sil = np.zeros(self.n, bool)
        for i, j in self.sil:
            sil[i:j] = True
        return _Block(np.concatenate(self.xy), np.concatenate(self.dz), sil, self.idx)


@lru_cache(maxsize=16)
def _circle(n: int) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([np.cos(t), np.sin(t)], 1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 16) -> np.ndarray:
    return _circle(n) * (rx, ry) + (cx, cy)


def _clip_convex(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    area, inter = cv2.intersectConvexConvex(a, b)
    if inter is None or area <= 1e-7 or len(inter) < 3:
        return None
    return inter.reshape(-1, 2)


# constant parameter grids
_U = np.linspace(0.0, 1.0, 13)  # eye lids, outer to inner corner in image order
_SU75 = np.sin(np.pi * _U) ** 0.75
_SU90 = np.sin(np.pi * _U) ** 0.9
_UC = _U[2:11]
_SUC = np.sin(np.pi * _UC) ** 0.8
_UB = np.linspace(0.0, 1.0, 9)  # brows, inner to outer
_BARCH = 0.06 * np.sin(np.pi * (0.15 + 0.75 * _UB))
_T = np.linspace(-1.0, 1.0, 13)  # outer lips
_PO = np.clip(1.0 - (_T / 0.9) ** 2, 0.0, 1.0) ** 0.6
_THU = 0.075 * np.sqrt(1.0 - _T**2) * (
    1.0 + 0.3 * np.exp(-(((np.abs(_T) - 0.3) / 0.18) ** 2)) - 0.2 * np.exp(-((_T / 0.12) ** 2))
)
_THL = 0.095 * (1.0 - _T**2) ** 0.55
_TAU = np.linspace(-1.0, 1.0, 9)  # inner lips
_TI = 0.9 * _TAU
_PI = (1.0 - _TAU**2) ** 0.6
_PHI = np.linspace(0.0, np.pi, 33)  # jaw
_PSI = np.linspace(0.0, np.pi, 25)[1:-1]  # forehead


@dataclass(frozen=True)
class _Static:
    """Everything about a face that depends on the identity only (cached per identity)."""

    W: float
    D: float
    ex: float
    ey: float
    ew: float
    nw: float
    yb: float
    mw0: float
    jaw_e: float
    block: _Block
    colours: dict[str, RGB]


@lru_cache(maxsize=1024)
def _static(idt: Identity) -> _Static:
    g = _Geo()
    W = 1.175 * idt.face_ratio
    D = 0.9 * W
    ex, ey, ew = 0.42 * W * idt.eye_spacing, -0.12, 0.37 * W * idt.eye_size

    # body: clothing, neck (silhouette)
    g.add("clothing", [(-2.7, 3.6), (-2.35, 1.95), (-1.75, 1.56), (-1.0, 1.4), (-0.55 * W, 1.37),
                       (0.0, 1.92), (0.55 * W, 1.37), (1.0, 1.4), (1.75, 1.56), (2.35, 1.95),
                       (2.7, 3.6)])
    g.add("neck", [(-0.40 * W, 0.5), (-0.44 * W, 1.15), (-0.55 * W, 1.45), (0.0, 2.0),
                   (0.55 * W, 1.45), (0.44 * W, 1.15), (0.40 * W, 0.5)])
    # ears (silhouette)
    for name, sx in (("ear_r", -1.0), ("ear_l", 1.0)):
        g.add(name, _ellipse(sx * W, 0.04, 0.13, 0.22, 14))
        arc = _ellipse(sx * 1.03 * W, 0.03, 0.06, 0.13, 10)
        g.add(name + "_in", arc[[7, 8, 9, 0, 1, 2, 3]] if sx > 0 else arc[[2, 3, 4, 5, 6, 7, 8]])

    # hair: a cap (outer silhouette + hairline on the face) and, for some styles, a back part
    st = int(idt.hair_style) % HAIR_STYLES
    hy, hc, tilt, bumps, wc, hcap = -0.80, 0.12, 0.0, 0.0, 1.07, 1.22
    if st == 1:
        hy, hc, tilt = -0.74, 0.15, 0.12
    elif st == 2:
        hy, hc, wc, hcap = -0.93, 0.06, 1.025, 1.13
    elif st == 3:
        hy, hc, bumps, wc, hcap = -0.72, 0.05, 0.03, 1.16, 1.36
    elif st == 5:
        hy, hc, bumps = -0.56, 0.02, 0.02
    psi = np.linspace(-0.02, np.pi + 0.02, 29)
    r = 1.0 + (0.05 * np.sin(13.0 * psi) if st == 3 else 0.0)
    g.add("hair_outer", np.stack([wc * W * np.cos(psi) * r, -0.10 - hcap * np.sin(psi) * r], 1))
    hx = np.linspace(-0.78 * W, 0.78 * W, 13)
    q = hx / (0.78 * W)
    hyl = hy + hc * q**2 + tilt * q + bumps * np.cos(np.arange(13) * np.pi)
    temple = -0.58 + 0.5 * (hy + 0.8)
    g.add("hair_line", np.concatenate([
        [(-W, -0.12), (-0.97 * W, -0.30), (-0.86 * W, temple)],
        np.stack([hx, hyl], 1),
        [(0.86 * W, temple), (0.97 * W, -0.30), (W, -0.12)],
    ]), 0.0)
    if st in (1, 5):  # long hair falling behind the shoulders / a bob
        psi = np.linspace(0.0, np.pi, 17)
        arc = np.stack([1.13 * W * np.cos(psi), -0.10 - 1.27 * np.sin(psi)], 1)
        tail = ([(-1.22 * W, 0.8), (-1.26 * W, 1.58), (-0.9 * W, 1.66), (0.9 * W, 1.66),
                 (1.26 * W, 1.58), (1.22 * W, 0.8)] if st == 1 else
                [(-1.18 * W, 0.7), (-1.1 * W, 0.98), (1.1 * W, 0.98), (1.18 * W, 0.7)])
        g.add("hair_back", np.concatenate([arc, tail]))
    elif st == 3:  # curly volume behind the head
        psi = np.linspace(-0.5, np.pi + 0.5, 37)
        r = 1.0 + 0.06 * np.sin(11.0 * psi)
        g.add("hair_back", np.stack([1.25 * W * np.cos(psi) * r, -0.05 - 1.42 * np.sin(psi) * r], 1))
    elif st == 4:  # bun
        g.add("hair_back", _ellipse(0.0, -1.42, 0.32, 0.28, 18))

    # nose (landmarks 27..35)
    nl = 0.50 * idt.nose_length
    nw = 0.16 * W
    yt = ey + nl
    yb = yt + 0.05
    k = np.arange(4) / 3.0
    g.add("bridge_lm", np.stack([np.zeros(4), ey + k * nl], 1), 0.05 + 0.28 * k**1.3)
    g.add("nose_base", [(-nw, yb - 0.035), (-nw / 2, yb), (0.0, yb + 0.01), (nw / 2, yb),
                        (nw, yb - 0.035)], np.array([0.10, 0.16, 0.2, 0.16, 0.10]))
    hn = np.array([(0.05, ey + 0.02, 0.06), (0.06, ey + 0.45 * nl, 0.14), (0.085, ey + 0.8 * nl, 0.2),
                   (1.15 * nw, yb - 0.07, 0.08), (1.2 * nw, yb - 0.02, 0.06),
                   (0.9 * nw, yb + 0.02, 0.1), (0.45 * nw, yb + 0.03, 0.15)])
    nose = np.concatenate([hn * [-1, 1, 1], [(0.0, yb + 0.035, 0.2)], hn[::-1]])
    g.add("nose", nose[:, :2], nose[:, 2])
    g.add("nose_shadow", [(0.06, ey + 0.4 * nl), (0.08, ey + 0.75 * nl), (0.95 * nw, yb - 0.075)], 0.15)
    g.add("nostril_r", _ellipse(-0.5 * nw, yb - 0.005, 0.042, 0.022, 10), 0.15)
    g.add("nostril_l", _ellipse(0.5 * nw, yb - 0.005, 0.042, 0.022, 10), 0.15)
    g.add("nose_tip", _ellipse(0.0, yt - 0.03, 0.045, 0.03, 8), 0.3)

    # glasses
    if idt.has_glasses:
        ct, stt = _circle(24)[:, 0], _circle(24)[:, 1]
        for tag, sx in (("r", -1.0), ("l", 1.0)):
            rim = np.stack([sx * ex + 0.64 * ew * np.sign(ct) * np.abs(ct) ** 0.6,
                            ey + 0.02 + 0.42 * ew * np.sign(stt) * np.abs(stt) ** 0.6], 1)
            g.add("glasses_" + tag, rim, 0.14)
            g.add("arm_" + tag, [(sx * (ex + 0.64 * ew), ey - 0.02), (sx * 0.97 * W, ey + 0.01)], 0.1)
        bx = ex - 0.64 * ew
        g.add("bridge", [(-bx, ey - 0.03), (0.0, ey - 0.06), (bx, ey - 0.03)], 0.16)

    sk = np.asarray(idt.skin_rgb, np.float64)
    hr = np.asarray(idt.hair_rgb, np.float64)
    lip = np.clip(sk * [0.82, 0.52, 0.52] + [48, 8, 14], 0, 255)
    colours = {
        "skin": _rgb(sk),
        "skin_dark": _rgb(sk * 0.72),
        "skin_shade": _rgb(sk * 0.86),
        "neck": _rgb(sk * 0.9),
        "nose": _rgb(sk * 0.97),
        "nostril": _rgb(sk * 0.45),
        "tip": _rgb(np.minimum(sk * 1.06 + 6, 255)),
        "hair": _rgb(hr if st != 2 else 0.55 * hr + 0.45 * sk),
        "brow": _rgb(hr * (0.8 if st != 2 else 0.7)),
        "beard": _rgb(hr * 0.92),
        "sclera": (246, 244, 238),
        "iris": idt.iris_rgb,
        "pupil": (14, 10, 10),
        "lash": _rgb(np.minimum(hr * 0.45, 40)),
        "lip_up": _rgb(lip * 0.92),
        "lip_lo": _rgb(lip),
        "mouth": (82, 22, 30),
        "mouth_line": _rgb(lip * 0.5),
        "teeth": (238, 234, 224),
        "clothing": idt.clothing_rgb,
        "background": idt.background_rgb,
        "glasses": (28, 28, 34),
    }
    return _Static(W=W, D=D, ex=ex, ey=ey, ew=ew, nw=nw, yb=yb, mw0=0.36 * W * idt.mouth_width,
                   jaw_e=2.0 / (2.0 + 1.6 * idt.jaw_width), block=g.block(), colours=colours)


# (point set, indices) in landmark order: jaw, brows, nose bridge, nostrils, eyes, lips, pupils
_LANDMARKS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("face", tuple(range(0, 33, 2))),
    ("browc_r", (0, 1, 2, 3, 4)),
    ("browc_l", (0, 1, 2, 3, 4)),
    ("bridge_lm", (0, 1, 2, 3)),
    ("nose_base", (0, 1, 2, 3, 4)),
    ("eye_r", (0, 4, 8, 12, 16, 20)),
    ("eye_l", (0, 4, 8, 12, 16, 20)),
    ("lips_outer", (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22)),
    ("lips_inner", (0, 2, 4, 6, 8, 10, 12, 14)),
    ("pupil_c_r", (0,)),
    ("pupil_c_l", (0,)),
)


def _dynamic(st: _Static, idt: Identity, v: float, a: float, s: float) -> tuple[_Block, dict]:
    """The expression-dependent point sets of one frame, and the frame's extra colours."""
    g = _Geo()
    W, ex, ey, ew, yb, nw = st.W, st.ex, st.ey, st.ew, st.yb, st.nw
    pos = max(v, 0.0)

    # mouth opening: arousal moderately, the speech envelope additively; the jaw drops with it
    open_ = 0.10 * min(max((a + 0.3) / 1.3, 0.0), 1.0) + 0.26 * s
    chin = 1.18 + 0.55 * open_

    # face outline: jaw (landmarks 0..16) + forehead (silhouette)
    c, sn = np.cos(_PHI), np.sin(_PHI)
    e = st.jaw_e
    jaw = np.stack([-W * np.sign(c) * np.abs(c) ** e, -0.05 + (chin + 0.05) * np.abs(sn) ** e], 1)
    c, sn = np.cos(_PSI), np.sin(_PSI)
    top = np.stack([W * np.sign(c) * np.abs(c) ** 0.85, -0.05 - 1.08 * np.abs(sn) ** 0.85], 1)
    g.add("face", np.concatenate([jaw, top]))
    g.add("chin_shadow", _ellipse(0.0, chin - 0.06, 0.5 * W, 0.2, 14))

    # eyes (landmarks 36..47; pupils 68, 69): arousal opens them, a smile raises the lower lid
    h_up = ew * (0.30 + 0.12 * a)
    h_lo = ew * (0.15 + 0.04 * a - 0.05 * pos)
    for tag, sx in (("r", -1.0), ("l", 1.0)):
        cx = sx * ex
        base = ey - 0.035 * (((1.0 - _U) if sx < 0 else _U) - 0.5)  # outer corners a bit higher
        x = cx - ew / 2 + _U * ew
        up = np.stack([x, base - h_up * _SU75], 1)
        lo = np.stack([x, base + h_lo * _SU90], 1)
        eye = np.concatenate([up, lo[11:0:-1]])
        g.add("eye_" + tag, eye, 0.02)
        icx, icy = cx, ey - 0.08 * h_up
        ri = 0.25 * ew
        eye32 = eye.astype(np.float32)
        g.add("pupil_c_" + tag, [(icx, icy)], 0.03)
        for name, rr, ox, n in (("iris_", ri, 0.0, 20), ("pupil_", 0.5 * ri, 0.0, 12),
                                ("glint_", 0.2 * ri, -0.35 * ri, 8)):
            poly = _clip_convex(_ellipse(icx + ox, icy + ox, rr, rr, n).astype(np.float32), eye32)
            if poly is not None:
                g.add(name + tag, poly, 0.03)
        g.add("lid_" + tag, up, 0.02)
        g.add("lidlo_" + tag, lo, 0.02)
        g.add("crease_" + tag, np.stack([cx - ew / 2 + _UC * ew,
                                         base[2:11] - (0.45 * ew + 0.3 * h_up) * _SUC], 1), 0.02)

    # brows (landmarks 17..26): arousal raises them; negative valence tilts the inner ends
    # (down when aroused: anger, up when subdued: sadness)
    by = ey - 0.30 * ew - 0.13 - 0.08 * a
    inner_dy = 0.10 * max(-v, 0.0) * a
    bt = 0.075 * idt.brow_thickness * (1.0 - 0.45 * _UB)
    yc = by - _BARCH + inner_dy * (1.0 - _UB) ** 2
    for tag, sx in (("r", -1.0), ("l", 1.0)):
        bx = sx * ((ex - 0.58 * ew) + _UB * 1.23 * ew)
        g.add("brow_" + tag, np.concatenate([np.stack([bx, yc - bt / 2], 1),
                                             np.stack([bx, yc + bt / 2], 1)[::-1]]), 0.05)
        centre = np.stack([bx, yc], 1)[0:9:2]
        g.add("browc_" + tag, centre[::-1] if sx < 0 else centre, 0.05)

    # mouth (landmarks 48..67): valence bends it strongly (corners up/down) and widens it
    mw = st.mw0 * (1.0 + 0.10 * v)
    lift = 0.60 * st.mw0 * (v + idt.mouth_offset)
    cy = min(yb + 0.26, 0.8) + open_ / 2
    mid_o = cy - lift * _T**2
    mid_i = cy - lift * _TI**2
    gap_o = (open_ / 2) * _PO
    gap_i = (open_ / 2) * _PI
    xo, xi = _T * mw, _TI * mw
    up_o = np.stack([xo, mid_o - gap_o - _THU], 1)
    lo_o = np.stack([xo, mid_o + gap_o + _THL], 1)
    up_i = np.stack([xi, mid_i - gap_i], 1)
    lo_i = np.stack([xi, mid_i + gap_i], 1)
    g.add("lips_outer", np.concatenate([up_o, lo_o[11:0:-1]]), 0.06)
    g.add("lips_inner", np.concatenate([up_i, lo_i[7:0:-1]]), 0.06)
    g.add("lip_up", np.concatenate([up_o, up_i[::-1]]), 0.06)
    g.add("lip_lo", np.concatenate([lo_o[::-1], lo_i]), 0.06)
    if open_ > 0.005:
        teeth = np.stack([xi, mid_i - gap_i + np.minimum(0.9 * gap_i, 0.06)], 1)
        g.add("teeth", np.concatenate([up_i, teeth[::-1]]), 0.05)
    g.add("mouth_line", np.concatenate([up_o[:1], up_i, up_o[-1:]]), 0.06)

    # cheeks (raised by a smile), smile folds, beard
    for tag, sx in (("r", -1.0), ("l", 1.0)):
        g.add("cheek_" + tag, _ellipse(sx * 0.5 * W, 0.30 - 0.07 * pos, 0.15 * (1 + 0.2 * pos),
                                       0.095 * (1 + 0.2 * pos), 16), 0.0)
        if v > 0.05:
            g.add("fold_" + tag, [(sx * 1.3 * nw, yb - 0.03), (sx * (0.9 * mw + 0.1), yb + 0.12),
                                  (sx * (mw + 0.07), cy - lift + 0.09)], 0.02)
    if idt.has_beard:
        must = np.stack([_T * (mw + 0.06), np.maximum(yb + 0.04, mid_o - _THU - 0.07)], 1)[::-1]
        g.add("beard_jaw", jaw[3:30])
        g.add("beard_in", np.concatenate([[(0.8 * W, 0.28), (0.5 * W, yb + 0.03)], must,
                                          [(-0.5 * W, yb + 0.03), (-0.8 * W, 0.28)]]), 0.0)

    sk = idt.skin_rgb
    wc = 0.16 + 0.12 * pos
    colours = {
        "cheek": _rgb([sk[i] * (1.0 - wc) + (232, 118, 120)[i] * wc for i in range(3)]),
        "fold": _rgb([x * (1.0 - 0.3 * min(1.0, 1.2 * pos)) for x in sk]),
    }
    return g.block(), colours


def _project(st: _Static, xy: np.ndarray, dz: np.ndarray, sil: np.ndarray, pose: Pose,
             size: int) -> np.ndarray:
    """Canonical points -> pixel (x, y). Face-surface points sit on an ellipsoidal head
    (depth ``D`` at the centre line) plus their offset and are rotated by yaw and pitch;
    silhouette points follow the head's outline (which widens slightly under yaw)."""
    W, D = st.W, st.D
    x, y = xy[:, 0], xy[:, 1]
    z = D * np.sqrt(np.clip(1.0 - (x / (1.05 * W)) ** 2, 0.02, 1.0)) * (
        1.0 - 0.12 * ((y - 0.05) / 1.2) ** 2) + dz
    yaw, pitch, roll = (math.radians(t) for t in (pose.yaw, pose.pitch, pose.roll))
    cyw, syw = math.cos(yaw), math.sin(yaw)
    k = math.sqrt(cyw**2 + (D / W) ** 2 * syw**2)
    x1 = np.where(sil, x * k, x * cyw + z * syw)
    z1 = np.where(sil, 0.0, z * cyw - x * syw)
    y1 = y * math.cos(pitch) - z1 * math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    sc = size * _UNIT * pose.scale
    out = np.empty_like(xy)
    out[:, 0] = size * (0.5 + pose.dx) + sc * (x1 * cr - y1 * sr)
    out[:, 1] = size * (_CY + pose.dy) + sc * (x1 * sr + y1 * cr)
    return out


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    r = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    return np.meshgrid(r, r)


@lru_cache(maxsize=4)
def _noise_bank(n: int) -> np.ndarray:
    return np.random.default_rng(0x5EED).standard_normal(8 * n + 4099, dtype=np.float32)


def _occluder(occ: Occlusion, size: int) -> list[np.ndarray]:
    """Occluder polygons in pixel coordinates (image space, independent of the face)."""
    cx, cy = occ.cx * size, occ.cy * size
    w, h = occ.width * size, occ.height * size
    th = math.radians(occ.angle)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    if occ.kind == "hand":
        parts = [_ellipse(0.0, 0.18, 0.42, 0.36, 20)]
        for i, fx in enumerate((-0.3, -0.1, 0.1, 0.3)):
            ln = 0.3 + 0.06 * (1.5 - abs(i - 1.5))
            parts.append(_ellipse(fx, -0.18 - ln / 2, 0.09, ln / 2 + 0.06, 12))
        thumb = _ellipse(0.0, 0.0, 0.09, 0.22, 12) @ np.array([[0.7, 0.7], [-0.7, 0.7]]).T
        parts.append(thumb + np.array([-0.45, 0.05]))
    else:
        parts = [np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)])]
    return [(p * [w, h]) @ rot.T + [cx, cy] for p in parts]


def render_face(
    identity: Identity,
    valence: float,
    arousal: float,
    speech_open: float = 0.0,
    pose: Pose = Pose(),
    nuisance: Nuisance = Nuisance(),
    size: int = 96,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one frame: (rgb uint8 (size, size, 3), landmarks float32 (70, 2) as pixel x, y,
    seg uint8 (size, size)). ``valence``/``arousal`` in [-1, 1], ``speech_open`` in [0, 1].
    ``rng`` only feeds the pixel noise; None uses a fixed seed, so the output is always a
    pure function of the arguments (and the generator's state)."""
    v = float(np.clip(valence, -1.0, 1.0))
    a = float(np.clip(arousal, -1.0, 1.0))
    s = float(np.clip(speech_open, 0.0, 1.0))
    try:
        st = _static(identity)
    except TypeError:  # unhashable fields (e.g. list colours): build without the cache
        st = _static.__wrapped__(identity)
    dyn, extra = _dynamic(st, identity, v, a, s)
    sb = st.block
    n0 = len(sb.xy)
    pts = _project(st, np.concatenate([sb.xy, dyn.xy]), np.concatenate([sb.dz, dyn.dz]),
                   np.concatenate([sb.sil, dyn.sil]), pose, size)
    idx = dict(sb.idx)
    idx.update({k: (i + n0, j + n0) for k, (i, j) in dyn.idx.items()})
    col = {**st.colours, **extra}
    ss = _SS
    qi = np.round((pts * ss + (ss - 1) / 2.0) * _FP).astype(np.int32)
    qs = np.round(pts * _FP).astype(np.int32)
    big = ss * size
    img = np.empty((big, big, 3), np.uint8)
    cv2.rectangle(img, (0, 0), (big - 1, big - 1), col["background"], -1)  # fast fill
    seg = np.zeros((size, size), np.uint8)
    unit = size * _UNIT * pose.scale * ss  # canonical unit in supersampled pixels
    aa, l8 = cv2.LINE_AA, cv2.LINE_8

    def p(name):
        i, j = idx[name]
        return qi[i:j], qs[i:j]

    def fill(names, colour, cls=None):
        polys = [p(n) for n in names if n in idx]
        if not polys:
            return
        cv2.fillPoly(img, [q[0] for q in polys], colour, aa, _SHIFT)
        if cls is not None:
            cv2.fillPoly(seg, [q[1] for q in polys], cls, l8, _SHIFT)

    def line(name, colour, width, closed=False, cls=None):
        if name not in idx:
            return
        a_, b_ = p(name)
        th = max(1, round(width * unit))
        cv2.polylines(img, [a_], closed, colour, th, aa, _SHIFT)
        if cls is not None:
            cv2.polylines(seg, [b_], closed, cls, max(1, round(width * unit / ss)), l8, _SHIFT)

    # back to front
    fill(["clothing"], col["clothing"], CLOTHING)
    fill(["hair_back"], col["hair"], HAIR)
    fill(["neck"], col["neck"], NECK)
    fill(["chin_shadow"], col["skin_shade"])
    fill(["ear_r"], col["skin"], RIGHT_EAR)
    fill(["ear_l"], col["skin"], LEFT_EAR)
    line("ear_r_in", col["skin_dark"], 0.025)
    line("ear_l_in", col["skin_dark"], 0.025)
    fill(["face"], col["skin"], SKIN)
    line("face", col["skin_dark"], 0.025, closed=True)
    fill(["cheek_r", "cheek_l"], col["cheek"])
    line("fold_r", col["fold"], 0.03)
    line("fold_l", col["fold"], 0.03)
    if "beard_jaw" in idx:
        (ja, js), (ba, bs) = p("beard_jaw"), p("beard_in")
        cv2.fillPoly(img, [np.concatenate([ja, ba])], col["beard"], aa, _SHIFT)
        cv2.fillPoly(seg, [np.concatenate([js, bs])], BEARD, l8, _SHIFT)
    fill(["nose"], col["nose"], NOSE)
    fill(["nose_tip"], col["tip"])
    line("nose_shadow", col["skin_dark"], 0.03)
    line("nose_base", col["skin_dark"], 0.03)
    fill(["nostril_r", "nostril_l"], col["nostril"])
    for tag, cls in (("r", RIGHT_EYE), ("l", LEFT_EYE)):
        fill(["eye_" + tag], col["sclera"], cls)
        fill(["iris_" + tag], col["iris"])
        fill(["pupil_" + tag], col["pupil"])
        fill(["glint_" + tag], (255, 255, 255))
        line("crease_" + tag, col["skin_dark"], 0.025)
        line("lidlo_" + tag, col["skin_dark"], 0.025)
        line("lid_" + tag, col["lash"], 0.05)
    fill(["brow_r"], col["brow"], RIGHT_BROW)
    fill(["brow_l"], col["brow"], LEFT_BROW)
    fill(["lips_inner"], col["mouth"], MOUTH)
    fill(["teeth"], col["teeth"])
    fill(["lip_up"], col["lip_up"], UPPER_LIP)
    fill(["lip_lo"], col["lip_lo"], LOWER_LIP)
    line("mouth_line", col["mouth_line"], 0.03)
    if "hair_outer" in idx:
        (oa, os_), (la, ls) = p("hair_outer"), p("hair_line")
        cv2.fillPoly(img, [np.concatenate([oa, la])], col["hair"], aa, _SHIFT)
        cv2.fillPoly(seg, [np.concatenate([os_, ls])], HAIR, l8, _SHIFT)
    for name in ("glasses_r", "glasses_l"):
        line(name, col["glasses"], 0.04, closed=True, cls=GLASSES)
    for name in ("bridge", "arm_r", "arm_l"):
        line(name, col["glasses"], 0.04, cls=GLASSES)

    occ = nuisance.occlusion
    if occ is not None:
        polys = _occluder(occ, size)
        cv2.fillPoly(img, [np.round((q * ss + (ss - 1) / 2.0) * _FP).astype(np.int32) for q in polys],
                     occ.rgb, aa, _SHIFT)
        for q in polys:  # one call per part: overlapping parts must not cancel
            cv2.fillPoly(seg, [np.round(q * _FP).astype(np.int32)], int(occ.seg_class), l8, _SHIFT)

    rgb = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    rgb = _apply_nuisance(rgb, nuisance, size, rng)

    lm = pts[[idx[name][0] + i for name, ii in _LANDMARKS for i in ii]].astype(np.float32)
    return rgb, lm, seg


def _apply_nuisance(rgb: np.ndarray, n: Nuisance, size: int, rng: np.random.Generator | None):
    strength, angle = n.light_direction
    if (n.brightness == 0.0 and n.contrast == 1.0 and strength == 0.0 and n.blur_sigma <= 0.0
            and n.noise_sigma <= 0.0):
        return rgb
    x = rgb.astype(np.float32)
    gain = float(n.contrast)
    off = 128.0 * (1.0 - gain) + 255.0 * n.brightness
    if strength != 0.0:  # contrast and brightness, then the light gradient, in one pass
        gx, gy = _grid(size)
        th = math.radians(angle)
        light = 1.0 + float(strength) * (gx * math.cos(th) + gy * math.sin(th))
        x *= (gain * light)[..., None]
        x += (off * light)[..., None]
    elif gain != 1.0 or off != 0.0:
        x *= gain
        x += off
    if n.blur_sigma > 0.0:
        x = cv2.GaussianBlur(x, (0, 0), n.blur_sigma * size / 96.0)
    if n.noise_sigma > 0.0:
        # a random window into a fixed bank of Gaussian samples: ~10x cheaper than drawing
        # fresh ones, and still a pure function of the generator's state
        gen = rng if rng is not None else np.random.default_rng(0)
        bank = _noise_bank(x.size)
        i = int(gen.integers(0, len(bank) - x.size + 1))
        x += bank[i:i + x.size].reshape(x.shape) * np.float32(255.0 * n.noise_sigma)
    x += 0.5
    np.clip(x, 0.0, 255.0, out=x)
    return x.astype(np.uint8)


def render_pair(left: Mapping | tuple, right: Mapping | tuple, size: int = 96) -> np.ndarray:
    """Two faces side by side, rgb (size, 2 * size, 3). Each side is the arguments of
    :func:`render_face` (a mapping of keyword arguments, or a tuple of positional ones);
    ``size`` overrides theirs."""
    halves = []
    for spec in (left, right):
        if isinstance(spec, Mapping):
            kw = dict(spec)
            kw["size"] = size
            halves.append(render_face(**kw)[0])
        else:
            args = tuple(spec)[:6]
            halves.append(render_face(*args, size=size)[0])
    return np.concatenate(halves, axis=1)


# --------------------------------------------------------------------------- measurements


def _frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eye-based frame: (landmarks, unit eye axis, unit 'down' axis, inter-ocular distance)."""
    lm = np.asarray(lm, np.float64)
    if lm.shape[-2] < 68 or lm.shape[-1] != 2:
        raise ValueError(f"landmarks must be (..., 68 or 70, 2), got {lm.shape}")
    axis = lm[..., 42:48, :].mean(-2) - lm[..., 36:42, :].mean(-2)
    iod = np.linalg.norm(axis, axis=-1)
    ex = axis / np.maximum(iod, 1e-9)[..., None]
    down = np.stack([-ex[..., 1], ex[..., 0]], -1)
    return lm, ex, down, iod


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def _dist(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.linalg.norm(p - q, axis=-1)


def mouth_curvature(landmarks: np.ndarray) -> float | np.ndarray:
    """Smile (+) / frown (-): mean height of the lip corners (48, 54) above the mid-lip centre
    (midpoint of inner lip points 62 and 66), measured perpendicular to the eye axis and
    divided by the inter-ocular distance. Accepts (70, 2), (68, 2) or batches (..., 70, 2)."""
    lm, _, down, iod = _frame(landmarks)
    centre = 0.5 * (lm[..., 62, :] + lm[..., 66, :])
    h = -0.5 * (((lm[..., 48, :] - centre) * down).sum(-1) + ((lm[..., 54, :] - centre) * down).sum(-1))
    return _out(h / np.maximum(iod, 1e-9))


def eye_opening(landmarks: np.ndarray) -> float | np.ndarray:
    """Mean over both eyes of the lid aperture (mean of the two upper-lower point distances)
    divided by the eye width (corner to corner)."""
    lm = np.asarray(landmarks, np.float64)
    r = (_dist(lm[..., 37, :], lm[..., 41, :]) + _dist(lm[..., 38, :], lm[..., 40, :])) / (
        2.0 * np.maximum(_dist(lm[..., 36, :], lm[..., 39, :]), 1e-9))
    left = (_dist(lm[..., 43, :], lm[..., 47, :]) + _dist(lm[..., 44, :], lm[..., 46, :])) / (
        2.0 * np.maximum(_dist(lm[..., 42, :], lm[..., 45, :]), 1e-9))
    return _out(0.5 * (r + left))


def mouth_opening(landmarks: np.ndarray) -> float | np.ndarray:
    """Inner lip gap (62 to 66) divided by the mouth width (48 to 54)."""
    lm = np.asarray(landmarks, np.float64)
    return _out(_dist(lm[..., 62, :], lm[..., 66, :])
                / np.maximum(_dist(lm[..., 48, :], lm[..., 54, :]), 1e-9))
