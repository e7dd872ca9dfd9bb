"""Numpy host of charlm-lstm: prompts in, generated text out; texts in, log-likelihoods out.
Every character is one call of the exported `step` function (Keras, TFLite or ONNX
Runtime), with the recurrent state carried by this loop, so a phone keyboard runs the
very model the server does. Sampling draws from `seed` alone: the same seed gives the
same text on every backend.

>>> import numpy as np
>>> logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
>>> [sample(logits, u, top_k=2) for u in (0.1, 0.7, 0.99)]
[0, 1, 1]
>>> sample(logits, 0.99, top_p=0.8), sample(logits, 0.3, temperature=1e-3)
(1, 0)
"""
from __future__ import annotations

import sys

from dataclasses import dataclass

import numpy as np

from zoo import contract
from zoo.cancel import check
from zoo.decoding import log_softmax
from zoo.errors import InputError, warn
from zoo.data import plain
from zoo.options import (as_batch, check_int, check_number, check_unicode, seeds, shown,
                         utf8_text)

EMPTY_INPUT = ""
CONTEXT = "\n\n"                # what precedes every text: the start of a passage
MAX_CHARS = 100_000             # prompt + generated characters of one input (one model step each)
MAX_TEMPERATURE = 100.0


def sample(logits: np.ndarray, uniform: float, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0) -> int:
    """The character whose cumulative probability first passes `uniform`, after
    temperature, top-k (0: all) and top-p (nucleus) filtering, most likely first."""
    p = np.exp(log_softmax(np.asarray(logits, np.float64) / temperature))
    order = np.argsort(-p, kind="stable")
    p = p[order]
    keep = len(p) if not top_k else min(top_k, len(p))
    keep = min(keep, int(np.searchsorted(np.cumsum(p), top_p - 1e-12)) + 1)
    cum = np.cumsum(p[:keep]) / p[:keep].sum()
    return int(order[min(int(np.searchsorted(cum, uniform, side="right")), keep - 1)])


@dataclass
class Encoded:
    units: list          # {"context": ids, "text": ids, "steps", "temperature", "top_k", "top_p", "seed"}


class Host(contract.Host):
    TASK_METHODS = ("generate", "score")
    NO_INPUT_METHOD = "generate"
    NO_INPUT_ARG = "prompt"
    OPTION_BOUNDS = {"steps": f"0..{MAX_CHARS} characters", "temperature":
                     f"> 0 and <= {MAX_TEMPERATURE:g}", "top_k": ">= 0 (0: all)",
                     "top_p": "> 0 and <= 1", "seed": ">= 0 (input i: seed + i)",
                     "echo": "true or false"}
    PER_INPUT_OPTIONS = ("seed",)     # zoo serve merges requests, each with its own seeds
    ECHO = True         # `zoo predict charlm-lstm "ROMEO:"` streams the characters

    def __init__(self, config: dict):
        self.config = config
        self.chars = list(config["chars"])
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.state = config["state"]                       # {"h_0": units, ...}

    def ids(self, text: str) -> list[int]:
        return [self.index.get(c, 0) for c in text]       # 0: the unknown symbol

    def encode(self, inputs, steps: int = 100, temperature: float = 0.8, top_k: int = 0,
               top_p: float = 1.0, seed: int | list = 0, echo: bool = False) -> Encoded:
        """Options: `steps` characters to generate after each prompt, sampling
        `temperature`, `top_k` (0: all characters), `top_p` (nucleus), `seed` (input i
        draws from seed + i, or from seed[i] given one per input); `echo`
        writes each prompt and its characters to stdout as they are sampled."""
        inputs = [utf8_text(t, f"input {i}") for i, t in
                  enumerate(as_batch(inputs, (str, bytes), "prompts (str)"))]
        steps = check_int(steps, "steps", 0, MAX_CHARS)
        check_number(temperature, "temperature", 0, MAX_TEMPERATURE)
        if temperature <= 0:
            raise InputError(f"temperature must be > 0; got {temperature!r}")
        top_k, seed = check_int(top_k, "top_k", 0), seeds(seed, len(inputs))
        check_number(top_p, "top_p", 0, 1)
        if top_p <= 0:
            raise InputError(f"top_p must be > 0 and <= 1; got {top_p!r}")
        units, unknown = [], {}
        for i, text in enumerate(inputs):
            if not isinstance(text, str) or not text:
                raise InputError(f"input {i}: expected a non-empty text (str); got {shown(text, 40)}")
            # as the corpus was read (charlm.data.read): "O’er" is "O'er", "Zoe\u0308" is "Zoë"
            text = plain(check_unicode(text, f"input {i}")) or text
            unknown.update(dict.fromkeys(c for c in text if c not in self.index))
            if len(text) + steps > MAX_CHARS:
                raise InputError(f"input {i}: {len(text)} characters + {steps} steps; expected "
                                 f"at most {MAX_CHARS} in all (one model step each)")
            units.append({"context": self.ids(CONTEXT), "text": self.ids(text), "steps": steps,
                          "temperature": float(temperature), "top_k": top_k,
                          "top_p": float(top_p), "seed": seed[i], "echo": bool(echo)})
        if unknown:     # "Zoë" was read, and echoed, as "Zo\ufffd" without a word
            warn(f"characters the model's alphabet lacks (its corpus never had them): "
                 f"{''.join(list(unknown)[:20])!r}; each is read as one unknown symbol "
                 f"(counted in unknown_chars)")
        return Encoded(units)

    def run(self, encoded: Encoded, call) -> list[dict]:
        """Read each text character by character (its log-likelihood), then sample
        `steps` characters."""
        results = []
        for unit in encoded.units:
            state = {k: np.zeros((1, n), np.float32) for k, n in self.state.items()}
            rng = np.random.default_rng(unit["seed"])
            known, logp, generated = unit["context"] + unit["text"], [], []
            if unit["echo"]:
                sys.stdout.write("".join(self.chars[i] for i in unit["text"]))
            char = known[0]
            for t in range(1, len(known) + unit["steps"]):
                check()             # serve's --request-timeout (zoo.cancel)
                out = call("step", {"char": np.array([char], np.int32), **state})
                state = {k: out[k] for k in self.state}
                logits = out["logits"][0]
                if t < len(known):
                    char = known[t]
                    if t >= len(unit["context"]):
                        logp.append(float(log_softmax(logits)[char]))
                else:
                    # Never the unknown symbol (id 0): it names no character, and wrote
                    # "\ufffd" into the text at high temperatures.
                    char = 1 + sample(logits[1:], rng.random(), unit["temperature"],
                                      unit["top_k"], unit["top_p"])
                    generated.append(char)
                    if unit["echo"]:
                        sys.stdout.write(self.chars[char])
                        sys.stdout.flush()
            results.append({"logp": logp, "generated": generated})
        return results

    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        results = []
        for unit, out in zip(encoded.units, outputs):
            text = "".join(self.chars[i] for i in out["generated"])
            nats = -float(np.sum(out["logp"]))
            results.append({"text": text, "log_likelihood": -nats, "chars": len(unit["text"]),
                            "nats_per_char": nats / len(unit["text"]),
                            "unknown_chars": int(sum(i == 0 for i in unit["text"]))})
        return results

    def generate(self, call, prompt: str = "\n", steps: int = 400, temperature: float = 0.8,
                 top_k: int = 0, top_p: float = 1.0, seed: int = 0, echo: bool = False) -> str:
        """Text in the style of the corpus after `prompt` (m.generate("ROMEO:", steps=400))."""
        encoded = self.encode([prompt], steps, temperature, top_k, top_p, seed, echo)
        return self.decode(encoded, self.run(encoded, call))[0]["text"]

    def score(self, call, texts) -> list[dict]:
        """Each text's log-likelihood under the model (nats; per character too), read as
        the start of a passage: for ranking texts, or flagging the unlikely ones."""
        encoded = self.encode(texts, steps=0)
        return [{k: r[k] for k in ("log_likelihood", "chars", "nats_per_char", "unknown_chars")}
                for r in self.decode(encoded, self.run(encoded, call))]

    def agreement(self, a: list[dict], b: list[dict]) -> float:
        """The share of generated characters the same on both sides until they first differ.

        Sampling goes its own way after one flipped character, so the rest is not compared."""
        def prefix(x, y):
            n = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            return n / max(len(x), len(y), 1)

        return float(np.mean([prefix(x["text"], y["text"]) for x, y in zip(a, b)]))

    @staticmethod
    def describe(result: dict) -> str:
        return result["text"]
