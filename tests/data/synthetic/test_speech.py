import subprocess
import sys

import numpy as np

from avemo.data.synthetic import speech
from avemo.data.synthetic.report import voice_features


def _features(tmp_path, x, name):
    import soundfile as sf

    p = tmp_path / f"{name}.wav"
    sf.write(p, x, 16000)
    return voice_features(p)


def test_arousal_raises_pitch_energy_and_rate(tmp_path):
    voice = speech.Voice(variant="en+f3", base_pitch=55, base_rate=170)
    text = "the garden was quiet this morning before the train"
    low = speech.speak(text, voice, 0.0, -0.8)
    high = speech.speak(text, voice, 0.0, 0.8)
    f0_lo, e_lo = _features(tmp_path, low, "low")
    f0_hi, e_hi = _features(tmp_path, high, "high")
    assert f0_hi - f0_lo > np.log(1.2)  # at least 20 % higher pitch
    assert e_hi - e_lo > 6.0  # louder by more than 6 dB
    assert high.size < 0.85 * low.size  # faster speech


def test_valence_moves_pitch_less_than_arousal(tmp_path):
    voice = speech.Voice(variant="en+m3", base_pitch=40, base_rate=170)
    text = "we will bring the paper to the office tomorrow"
    base = _features(tmp_path, speech.speak(text, voice, 0.0, 0.0), "b")[0]
    val = _features(tmp_path, speech.speak(text, voice, 0.8, 0.0), "v")[0]
    aro = _features(tmp_path, speech.speak(text, voice, 0.0, 0.8), "a")[0]
    assert abs(val - base) < 0.5 * abs(aro - base)


FRESH = """
# a fresh interpreter: same call sequence from the same starting state
import hashlib, numpy as np
from avemo.data.synthetic import speech
rng = np.random.default_rng(3)
x, text = speech.utterance(rng, speech.Voice.sample(rng, "F"), np.array([[0.2, 0.1], [0.3, 0.4]]), 6)
assert x.dtype == np.float32 and x.size > 8000 and np.abs(x[:200]).max() > 0
print(hashlib.sha1(x.tobytes()).hexdigest(), text)
"""


def test_utterance_is_deterministic_in_a_fresh_process():
    """eSpeak keeps state between calls; from a fresh process the output is repeatable."""
    runs = [subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0].split()) > 3


def test_voices_use_repeatable_variants():
    rng = np.random.default_rng(0)
    for g in "FM" * 20:
        v = speech.Voice.sample(rng, g)
        assert v.variant.removeprefix("en+") in (speech.FEMALE if g == "F" else speech.MALE)


def test_envelope_range_and_rate():
    x = np.concatenate([np.zeros(8000), np.ones(8000) * 0.5]).astype(np.float32)
    env = speech.envelope(x, 16000, fps=10)
    assert env.shape == (10,)
    assert env.min() >= 0 and env.max() <= 1
    assert env[:5].max() == 0 and env[5:].min() > 0.9
