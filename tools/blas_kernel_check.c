// sgemm of the installed OpenBLAS against a double-precision reference, at the
// default model's training shapes (d_model 96, d_ff 384, 4 heads of 24, batch
// 64 x 96 tokens) and every transpose: the largest error of each product,
// relative to the sum of its terms' magnitudes. Run it once per OpenBLAS core
// type to see whether two kernels differ where a base is pretrained:
//   gcc -O2 tools/blas_kernel_check.c -o /tmp/bkc /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 -lm
//   OPENBLAS_NUM_THREADS=1 /tmp/bkc
//   OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX /tmp/bkc
// fp32 accumulation of these sizes stays near 1e-7; above 1e-5 is flagged.
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
// Fortran sgemm (column-major), from OpenBLAS
extern void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
                   const float*, const int*, const float*, float*, const int*);
extern char* openblas_get_corename(void);
static unsigned long long s = 88172645463325252ULL;
static float rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (float)((s >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1; }
int main(void) {
  printf("core %s\n", openblas_get_corename());
  int shapes[][3] = {{6144, 96, 96}, {6144, 288, 96}, {6144, 384, 96}, {6144, 96, 384}, {96, 384, 6144}, {96, 96, 6144},
                     {96, 96, 24}, {96, 24, 96}, {24, 96, 96}, {64, 96, 96}, {8, 96, 96}, {1, 96, 96}, {4, 4, 4}, {17, 33, 9}, {32, 97, 24}};
  const char* tr[] = {"N", "T"};
  for (unsigned si = 0; si < sizeof shapes / sizeof shapes[0]; ++si)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        int lda = ta ? K : M, ldb = tb ? N : K, ldc = M;
        float* A = malloc(sizeof(float) * M * K); float* B = malloc(sizeof(float) * K * N); float* C = malloc(sizeof(float) * M * N);
        for (long i = 0; i < (long)M * K; ++i) A[i] = rnd();
        for (long i = 0; i < (long)K * N; ++i) B[i] = rnd();
        for (long i = 0; i < (long)M * N; ++i) C[i] = rnd();
        float* C0 = malloc(sizeof(float) * M * N); memcpy(C0, C, sizeof(float) * M * N);
        float alpha = 1.0f, beta = 0.5f;
        sgemm_(tr[ta], tr[tb], &M, &N, &K, &alpha, A, &lda, B, &ldb, &beta, C, &ldc);
        double maxrel = 0;
        for (int i = 0; i < M; ++i) for (int j = 0; j < N; ++j) {
          double acc = 0, mag = 0;
          for (int k = 0; k < K; ++k) {
            double a = ta ? A[k + (long)i * lda] : A[i + (long)k * lda];
            double b = tb ? B[j + (long)k * ldb] : B[k + (long)j * ldb];
            acc += a * b; mag += fabs(a * b);
          }
          double ref = alpha * acc + beta * C0[i + (long)j * ldc];
          double e = fabs(C[i + (long)j * ldc] - ref) / (mag + fabs(beta * C0[i + (long)j * ldc]) + 1e-30);
          if (e > maxrel) maxrel = e;
        }
        printf("%5d %4d %5d %s%s  max err/|terms| %.2e%s\n", M, N, K, tr[ta], tr[tb], maxrel, maxrel > 1e-5 ? "  <-- WRONG" : "");
        free(A); free(B); free(C); free(C0);
      }
  return 0;
}
