"""FaceSynthetics-shaped stills: ``{id:06d}.png``, ``_ldmks.txt`` (70 points) and ``_seg.png``.
The expression behind each image goes to ``_truth/`` (for quality reports only)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from avemo.config import SynthesizeConfig
from avemo.data.synthetic import faces, labels


def identities(rng: np.random.Generator, n: int) -> list[faces.Identity]:
    return [faces.Identity.sample(rng) for _ in range(n)]


def generate_faces(
    cfg: SynthesizeConfig, root: Path, ids: range, people: list[faces.Identity], seed: np.random.SeedSequence
) -> list[list[str]]:
    """Render the images ``ids``; return their truth rows (id, identity, valence, arousal, dominance)."""
    rng = np.random.default_rng(seed)
    px = cfg.video.image_px
    rows = []
    for i in ids:
        who = int(rng.integers(len(people)))
        lat = labels.sample_latent(rng, labels.sample_category(rng))
        v, a = labels.face_expression(rng, lat)
        rgb, ldmks, seg = faces.render_face(
            people[who], float(v), float(a), float(rng.uniform(0, 0.4)),
            pose=faces.Pose.sample(rng, 1.0), nuisance=faces.Nuisance.sample(rng, 1.0), size=px, rng=rng,
        )
        cv2.imwrite(str(root / f"{i:06d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / f"{i:06d}_seg.png"), seg)
        (root / f"{i:06d}_ldmks.txt").write_text("".join(f"{x:.3f} {y:.3f}\n" for x, y in ldmks))
        rows.append([f"{i:06d}", f"id{who:04d}", f"{lat[0]:.4f}", f"{lat[1]:.4f}", f"{lat[2]:.4f}"])
    return rows
