#!/usr/bin/env python3
"""PyTorch-eager peer for `r1lab bench --compare`: r1lab's default model written
the way a careful PyTorch user would (pre-LayerNorm GPT, learned positions,
exact GELU, LM head tied to the token embedding; scaled_dot_product_attention;
a preallocated KV cache; no Python loop over rows), timed at the bench's shapes.

Prints one JSON line:
  {"peer": "pytorch-eager", "torch": ..., "threads": ..., "decode_tok_s": ...,
   "train_tok_s": ...}
decode: B rows, an 8-token prompt, NEW tokens sampled with a KV cache;
train: one teacher-forced step (forward, backward, AdamW) on B x T tokens.
Needs torch (any 2.x). One BLAS/OpenMP pool of --threads threads.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.h = h
        self.ln1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, ff)
        self.fc2 = torch.nn.Linear(ff, d)

    def heads(self, x):  # [B, T, 3d] -> 3 x [B, H, T, hd]
        B, T, _ = x.shape
        return self.qkv(x).view(B, T, 3, self.h, -1).permute(2, 0, 3, 1, 4)

    def mlp(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    def forward(self, x, cache=None):
        B, T, d = x.shape
        q, k, v = self.heads(self.ln1(x))
        if cache is not None:  # prefill: keep K and V
            cache[0][:, :, :T] = k
            cache[1][:, :, :T] = v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.mlp(x + self.proj(y.transpose(1, 2).reshape(B, T, d)))

    def step(self, x, cache, t):  # x [B, 1, d]; attends to cache[:, :, :t+1]
        B, _, d = x.shape
        q, k, v = self.heads(self.ln1(x))
        cache[0][:, :, t:t + 1] = k
        cache[1][:, :, t:t + 1] = v
        y = F.scaled_dot_product_attention(q, cache[0][:, :, :t + 1], cache[1][:, :, :t + 1])
        return self.mlp(x + self.proj(y.transpose(1, 2).reshape(B, 1, d)))


class Gpt(torch.nn.Module):
    def __init__(self, vocab, d, layers, h, ff, max_len):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(max_len, d)
        self.blocks = torch.nn.ModuleList(Block(d, h, ff) for _ in range(layers))
        self.ln_f = torch.nn.LayerNorm(d)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, tokens, caches=None):
        T = tokens.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(T))
        for i, b in enumerate(self.blocks):
            x = b(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.tok.weight.t()

    def step(self, token, caches, t):
        x = self.tok(token).unsqueeze(1) + self.pos.weight[t]
        for i, b in enumerate(self.blocks):
            x = b.step(x, caches[i], t)
        return (self.ln_f(x) @ self.tok.weight.t())[:, 0]


def decode(model, B, prompt, new, h, hd, layers):
    with torch.no_grad():
        tokens = torch.randint(4, model.tok.num_embeddings, (B, prompt))
        cap = prompt + new
        caches = [(torch.empty(B, h, cap, hd), torch.empty(B, h, cap, hd)) for _ in range(layers)]
        logits = model(tokens, caches)[:, -1]
        for t in range(prompt, prompt + new):
            nxt = torch.multinomial(torch.softmax(logits, -1), 1)[:, 0]
            if t + 1 < cap:
                logits = model.step(nxt, caches, t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--d", type=int, default=96)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=384)
    ap.add_argument("--decode-batch", type=int, default=256)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--train-batch", type=int, default=64)
    ap.add_argument("--train-len", type=int, default=64)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    prompt = 8
    model = Gpt(a.vocab, a.d, a.layers, a.heads, a.ff, max(prompt + a.new_tokens, a.train_len))
    hd = a.d // a.heads

    decode(model, a.decode_batch, prompt, 8, a.heads, hd, a.layers)  # warm-up
    t0 = time.perf_counter()
    decode(model, a.decode_batch, prompt, a.new_tokens, a.heads, hd, a.layers)
    decode_tok_s = a.decode_batch * a.new_tokens / (time.perf_counter() - t0)

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(4, a.vocab, (a.train_batch, a.train_len))

    def train_step():
        opt.zero_grad()
        logp = torch.log_softmax(model(tokens)[:, :-1], -1)
        loss = -logp.gather(-1, tokens[:, 1:].unsqueeze(-1)).mean()
        loss.backward()
        opt.step()

    train_step()
    t0 = time.perf_counter()
    for _ in range(a.train_steps):
        train_step()
    train_tok_s = a.train_batch * a.train_len * a.train_steps / (time.perf_counter() - t0)
    print(json.dumps({"peer": "pytorch-eager", "torch": torch.__version__, "threads": a.threads,
                      "decode_tok_s": decode_tok_s, "train_tok_s": train_tok_s}))


if __name__ == "__main__":
    main()
