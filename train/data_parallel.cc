#include "data_parallel.h"

#include "config.h"
#include "rng.h"

namespace r1lab {

int ShardSize(int n, int world, const std::string& field, const std::string& source) {
  if (world < 1 || n % world != 0)
    ConfigFail(source, field, std::to_string(n) + " does not split evenly over " + std::to_string(world) +
                                  " data-parallel ranks (use a multiple of the rank count)");
  return n / world;
}

std::pair<int64_t, int64_t> RankRows(int64_t n, const Dist* d) {
  if (!d) return {0, n};
  const int64_t r = d->rank(), w = d->world_size();
  return {n * r / w, n * (r + 1) / w};
}

uint64_t RankSeed(uint64_t seed, const Dist* d) {
  return d ? SplitMix64(seed ^ SplitMix64(0xd9a7a11e1ULL + static_cast<uint64_t>(d->rank()))) : seed;
}

std::vector<double> SumOverRanks(std::vector<double> values, Dist& d) {
  if (values.empty()) return values;
  torch::Tensor t = torch::tensor(values, torch::kDouble);
  d.AllReduceSum(t);
  const double* p = t.data_ptr<double>();
  values.assign(p, p + t.numel());
  return values;
}

void SumGradients(const std::vector<torch::Tensor>& params, Dist& d, std::vector<double>* extra) {
  std::vector<torch::Tensor> trained;
  for (const torch::Tensor& p : params)
    if (p.requires_grad()) trained.push_back(p);
  const size_t n_extra = extra ? extra->size() : 0;
  int64_t numel = 0;
  for (const torch::Tensor& p : trained) numel += p.numel();
  // On the parameters' device (NCCL's all-reduce on a GPU): the gradients,
  // then one presence flag per parameter, then the extras; float like the
  // gradients (the extras are losses and counts, which float holds).
  const torch::Device device = trained.empty() ? torch::Device(torch::kCPU) : trained[0].device();
  const int64_t n_tail = static_cast<int64_t>(trained.size() + n_extra);
  torch::Tensor flat = torch::zeros({numel + n_tail}, torch::TensorOptions().device(device).dtype(torch::kFloat));
  torch::Tensor tail = torch::zeros({n_tail}, torch::kFloat);  // built on the host, copied once
  int64_t at = 0;
  for (size_t i = 0; i < trained.size(); ++i) {
    const torch::Tensor& p = trained[i];
    if (p.grad().defined()) {
      flat.narrow(0, at, p.numel()).copy_(p.grad().reshape(-1));
      tail[static_cast<int64_t>(i)] = 1.0;
    }
    at += p.numel();
  }
  for (size_t i = 0; i < n_extra; ++i) tail[static_cast<int64_t>(trained.size() + i)] = (*extra)[i];
  flat.narrow(0, numel, n_tail).copy_(tail);
  d.AllReduceSum(flat);
  tail = flat.narrow(0, numel, n_tail).cpu();  // the one host copy: flags and extras
  const float* flags = tail.data_ptr<float>();
  at = 0;
  for (size_t i = 0; i < trained.size(); ++i) {
    torch::Tensor& p = trained[i];
    if (flags[i] > 0) {
      torch::Tensor g = flat.narrow(0, at, p.numel()).view(p.sizes()).to(p.scalar_type());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(g);
      } else {
        p.mutable_grad() = g.clone();
      }
    }
    at += p.numel();
  }
  for (size_t i = 0; i < n_extra; ++i) (*extra)[i] = flags[trained.size() + i];
}

FlopMark MarkFlops(const FlopCounter& f, int64_t tokens) {
  FlopMark m;
  for (size_t p = 0; p < m.phase.size(); ++p) m.phase[p] = f.Get(static_cast<FlopPhase>(p));
  m.oracle_calls = f.OracleCalls();
  m.tokens = tokens;
  return m;
}

void SumFlopsSince(const FlopMark& before, Dist& d, FlopCounter* f, int64_t* tokens) {
  const FlopMark now = MarkFlops(*f, *tokens);
  std::vector<double> delta;
  for (size_t p = 0; p < now.phase.size(); ++p) delta.push_back(now.phase[p] - before.phase[p]);
  delta.push_back(static_cast<double>(now.oracle_calls - before.oracle_calls));
  delta.push_back(static_cast<double>(now.tokens - before.tokens));
  delta = SumOverRanks(std::move(delta), d);
  for (size_t p = 0; p < now.phase.size(); ++p) f->Set(static_cast<FlopPhase>(p), before.phase[p] + delta[p]);
  f->SetOracleCalls(before.oracle_calls + static_cast<int64_t>(delta[now.phase.size()]));
  *tokens = before.tokens + static_cast<int64_t>(delta[now.phase.size() + 1]);
}

void AverageOverRanks(MetricsLine* m, Dist& d) {
  namespace pb = google::protobuf;
  const pb::Descriptor* desc = m->GetDescriptor();
  const pb::Reflection* refl = m->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  std::vector<double> sizes;
  for (int i = 0; i < desc->field_count(); ++i) {
    const pb::FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_DOUBLE && f->cpp_type() != pb::FieldDescriptor::CPPTYPE_FLOAT)
      continue;
    fields.push_back(f);
    sizes.push_back(f->is_repeated() ? refl->FieldSize(*m, f) : refl->HasField(*m, f) ? 1 : 0);
  }
  // Every rank walks the same fields in the descriptor's order, each as
  // long as the longest rank's; an element is the mean over the ranks that
  // have it, so a field one rank leaves unset does not pull the mean to 0.
  torch::Tensor max_sizes = torch::tensor(sizes, torch::kDouble);
  d.AllReduceMax(max_sizes);
  std::vector<int> longest(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) longest[i] = static_cast<int>(max_sizes[static_cast<int64_t>(i)].item<double>());
  std::vector<double> values;  // (value, present) per element
  for (size_t i = 0; i < fields.size(); ++i) {
    const pb::FieldDescriptor* f = fields[i];
    const bool dbl = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE;
    for (int k = 0; k < longest[i]; ++k) {
      const bool has = k < static_cast<int>(sizes[i]);
      double v = 0;
      if (has && f->is_repeated()) v = dbl ? refl->GetRepeatedDouble(*m, f, k) : refl->GetRepeatedFloat(*m, f, k);
      if (has && !f->is_repeated()) v = dbl ? refl->GetDouble(*m, f) : refl->GetFloat(*m, f);
      values.push_back(v);
      values.push_back(has ? 1 : 0);
    }
  }
  values = SumOverRanks(std::move(values), d);
  size_t at = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const pb::FieldDescriptor* f = fields[i];
    const bool dbl = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE;
    for (int k = 0; k < longest[i]; ++k, at += 2) {
      const double v = values[at] / values[at + 1];
      if (!f->is_repeated()) {
        dbl ? refl->SetDouble(m, f, v) : refl->SetFloat(m, f, static_cast<float>(v));
      } else if (k < refl->FieldSize(*m, f)) {
        dbl ? refl->SetRepeatedDouble(m, f, k, v) : refl->SetRepeatedFloat(m, f, k, static_cast<float>(v));
      } else {
        dbl ? refl->AddDouble(m, f, v) : refl->AddFloat(m, f, static_cast<float>(v));
      }
    }
  }
}

}  // namespace r1lab
