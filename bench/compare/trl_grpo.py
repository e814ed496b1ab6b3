#!/usr/bin/env python3
"""TRL peer for `r1lab bench --compare`: GRPO steps of TRL's GRPOTrainer at the
shapes of r1lab's GRPO-step bench row.

The model is a random GPT-2 of r1lab's default shape (d 96, 3 layers, 4 heads,
d_ff 384, learned positions, pre-LayerNorm, exact GELU, tied LM head, no
dropout), so every completion runs to the token limit, as r1lab's random model
does; the tokenizer is character-level; prompts are r1lab's arith problems
("3+5-2") and the reward is r1lab's accuracy rule (the integer inside the last
<answer>...</answer> equals the value). 16 prompts x 8 samples per step, 64 new
tokens, one update per step (num_iterations 1, one minibatch), k3 KL at beta
0.001 against a reference model, fp32 on the CPU.

Prints one JSON line: {"peer": "trl", "trl": ..., "torch": ..., "threads": ...,
"step_s": ..., "generation_s": ..., "update_s": ..., "generated_tok_s": ...,
"steps": ...}: medians over the steps after the first. A random model stops at
<eos> now and then, as r1lab's does, so completions are of mixed length:
compare generated tokens per second. generation_s is time inside model.generate;
update_s is the rest of the step (reward, reference and policy forward,
backward, AdamW).
"""
import argparse
import json
import logging
import os
import random
import re
import statistics
import tempfile
import time
import warnings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(a.threads)
    import transformers
    import trl
    from datasets import Dataset
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer
    transformers.logging.set_verbosity_error()
    logging.disable(logging.WARNING)

    chars = list("0123456789+-*/=()<>/ abcdefghijklmnopqrstuvwxyz\n.,:")
    vocab = {"<pad>": 0, "<bos>": 1, "<eos>": 2, "<unk>": 3}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
                                  unk_token="<unk>", padding_side="left")
    tok.chat_template = None

    cfg = GPT2Config(vocab_size=len(vocab), n_positions=128, n_embd=96, n_layer=3, n_head=4, n_inner=384,
                     activation_function="gelu", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0,
                     bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(cfg)

    rng = random.Random(1)

    def problem():
        terms = [str(rng.randint(1, 9)) for _ in range(rng.randint(3, 4))]
        text = terms[0]
        for t in terms[1:]:
            text += rng.choice("+-") + t
        return text

    prompts = [problem() for _ in range(16 * (a.steps + 2))]
    data = Dataset.from_dict({"prompt": prompts})

    def accuracy(prompts, completions, **kw):
        out = []
        for p, c in zip(prompts, completions):
            m = re.findall(r"<answer>(-?\d+)</answer>", c)
            out.append(1.0 if m and int(m[-1]) == eval(p) else 0.0)
        return out

    gen_time = []

    step_time, lengths = [], []

    class Timer(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "completions/mean_length" in logs:
                lengths.append(float(logs["completions/mean_length"]))

        def on_step_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()
            gen_time.append(None)  # a step boundary

        def on_step_end(self, args, state, control, **kw):
            step_time.append(time.perf_counter() - self.t0)

    with tempfile.TemporaryDirectory() as out:
        # TRL builds its reference model from the policy's path.
        model.save_pretrained(out + "/model")
        tok.save_pretrained(out + "/model")
        args = GRPOConfig(output_dir=out, per_device_train_batch_size=128, num_generations=8,
                          max_completion_length=64, beta=0.001, num_iterations=1, learning_rate=1e-4,
                          max_steps=a.steps, logging_steps=1, save_strategy="no", report_to=[],
                          use_cpu=True, bf16=False, fp16=False, temperature=1.0, seed=1,
                          dataloader_num_workers=0, disable_tqdm=True)
        trainer = GRPOTrainer(model=out + "/model", reward_funcs=accuracy, args=args, train_dataset=data,
                              processing_class=tok, callbacks=[Timer()])
        real_generate = trainer.model.generate

        def timed_generate(*args, **kw):
            t0 = time.perf_counter()
            r = real_generate(*args, **kw)
            gen_time.append(time.perf_counter() - t0)
            return r

        trainer.model.generate = timed_generate
        trainer.train()

    # generation seconds per step: the generate calls after each step boundary
    per_step, cur = [], None
    for g in gen_time:
        if g is None:
            if cur is not None:
                per_step.append(cur)
            cur = 0.0
        else:
            cur = (cur or 0.0) + g
    if cur is not None:
        per_step.append(cur)
    steps = step_time[1:]
    gens = per_step[1:len(step_time)]
    med_step, med_gen = statistics.median(steps), statistics.median(gens)
    tokens = [128 * x for x in lengths[1:len(step_time)]]
    print(json.dumps({"peer": "trl", "trl": trl.__version__, "torch": torch.__version__, "threads": a.threads,
                      "steps": len(steps), "step_s": med_step, "generation_s": med_gen,
                      "update_s": statistics.median(s - g for s, g in zip(steps, gens)),
                      "generated_tok_s": statistics.median(t / s for t, s in zip(tokens, steps))}))


if __name__ == "__main__":
    main()
