/* Atomic writes: whatever goes wrong, the target keeps its old contents and
 * no temporary file is left behind. Failures are real, not mocked: a missing
 * directory, a rename onto a directory, a file-size limit (RLIMIT_FSIZE,
 * which stops even root, like a full disk), and a body callback that fails
 * half-way through. */
#include "io_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>

#include "io_internal.h"

static char *dir;

static const char old_text[] = "old contents, must survive";

static bool target_is_old(const char *p) {
  size_t n;
  unsigned char *b = t_slurp(p, &n);
  bool ok = b && n == sizeof old_text - 1 && memcmp(b, old_text, n) == 0;
  free(b);
  return ok;
}

static RtStWriter *make_writer(size_t floats) {
  RtStWriter *w;
  rt_stw_new(&w, &ERR);
  float *v = calloc(floats, sizeof(float));
  rt_stw_add_f32(w, "big", 1, (int64_t[]){(int64_t)floats}, v, &ERR);
  free(v);
  return w;
}

static bool half_then_fail(FILE *f, void *ctx) {
  (void)ctx;
  fputs("partial", f);
  errno = ENOSPC;
  return false;
}

static bool write_new(FILE *f, void *ctx) {
  return fputs((const char *)ctx, f) >= 0;
}

int main(void) {
  dir = t_mkdtemp();
  const char *target = t_path(dir, "w.safetensors");
  t_write(target, old_text, sizeof old_text - 1);
  RtStWriter *w = make_writer(4096);

  /* Directory does not exist. */
  CHECK_ERR(rt_stw_write(w, t_path(dir, "nodir/w.safetensors"), &ERR), RT_ERR_IO,
            "nodir/w.safetensors: cannot create temporary file", "No such file or directory");

  /* Rename fails: the target is a directory. It must stay a directory with
   * its file inside, and no temp file may remain. */
  mkdir(t_path(dir, "adir"), 0755);
  t_write(t_path(dir, "adir/keep"), "k", 1);
  CHECK_ERR(rt_stw_write(w, t_path(dir, "adir"), &ERR), RT_ERR_IO, "rename of temporary file",
            "the target was left unchanged");
  CHECK(t_count_entries(t_path(dir, "adir")) == 1);

  /* The body fails half-way. */
  CHECK_ERR(rt_atomic_write(target, half_then_fail, NULL, &ERR), RT_ERR_IO,
            "w.safetensors: write of temporary file", "No space left on device",
            "the target was left unchanged");
  CHECK(target_is_old(target));

  /* A real short write: the process may write at most 1000 bytes per file. */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_lim, lim;
  getrlimit(RLIMIT_FSIZE, &old_lim);
  lim = old_lim;
  lim.rlim_cur = 1000;
  if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
    CHECK_ERR(rt_stw_write(w, target, &ERR), RT_ERR_IO, "w.safetensors:",
              "of temporary file", "File too large");
    CHECK(target_is_old(target));
    float *f = calloc(1000, sizeof(float));
    CHECK_ERR(rt_npy_save_f32(target, f, 1, (int64_t[]){1000}, &ERR), RT_ERR_IO,
              "File too large");
    CHECK(target_is_old(target));
    free(f);
    setrlimit(RLIMIT_FSIZE, &old_lim);
  } else {
    fprintf(stderr, "  (setrlimit failed; skipping the file-size-limit case)\n");
  }
  /* Only the target and adir remain: no temporaries anywhere. */
  CHECK(t_count_entries(dir) == 2);

  /* Success replaces the file and keeps its permission bits. */
  chmod(target, 0600);
  CHECK_OK(rt_atomic_write(target, write_new, "new", &ERR));
  size_t n;
  unsigned char *b = t_slurp(target, &n);
  CHECK(b && n == 3 && memcmp(b, "new", 3) == 0);
  free(b);
  struct stat st;
  CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK_OK(rt_stw_write(w, target, &ERR));
  RtSafetensors *sf;
  CHECK_OK(rt_st_open(&sf, target, &ERR));
  CHECK(sf && rt_st_count(sf) == 1);
  rt_st_close(sf);
  /* A new file gets 0644. */
  const char *fresh = t_path(dir, "fresh.safetensors");
  CHECK_OK(rt_stw_write(w, fresh, &ERR));
  CHECK(stat(fresh, &st) == 0 && (st.st_mode & 0777) == 0644);
  CHECK(t_count_entries(dir) == 3);

  rt_stw_free(w);
  t_rmtree(dir);
  free(dir);
  return t_finish("test_atomic");
}
