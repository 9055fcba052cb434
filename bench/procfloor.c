/*
 * The floor for one refresh of kepler-ts's ResourceInformer: the least a process can do to read
 * every /proc/<pid>/stat once. opendir(procfs), and for each numeric entry open, read, close.
 * Compiled by bench/floor.ts at bench time (cc -O2), never shipped.
 *
 *   procfloor ITERATIONS [PROCFS]
 *   procfloor --every INTERVAL_MS SECONDS [PROCFS]
 *
 * Two variants are timed, alternating pass by pass so that both see the same machine:
 *   one   - a single read(2) per file (procfs returns /proc/<pid>/stat whole in one read)
 *   eof   - read(2) until it returns 0, as a generic "read the whole file" loop does
 * Prints one JSON line: {"files":N,"one":[ms...],"eof":[ms...]}, one entry per timed pass.
 *
 * With --every, the floor of a running exporter: one pass (single read) every INTERVAL_MS for
 * SECONDS, sleeping in between, as an exporter refreshing at that interval would; prints
 * {"files":N,"passes":P,"cpuMs":C} with C the user + system CPU time this process used (getrusage).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One pass; returns the number of stat files read. */
static long pass(const char *procfs, int to_eof) {
  static char path[4096];
  static char buf[4096];
  DIR *d = opendir(procfs);
  if (!d) {
    perror("opendir");
    exit(1);
  }
  long files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "%s/%s/stat", procfs, e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue; /* exited since the listing */
    ssize_t n = read(fd, buf, sizeof buf);
    if (to_eof)
      while (n > 0) n = read(fd, buf, sizeof buf);
    close(fd);
    files++;
  }
  closedir(d);
  return files;
}

static int every(int interval_ms, int seconds, const char *procfs) {
  double start = now_ms();
  long files = 0, passes = 0;
  for (double next = start; next < start + seconds * 1e3; next += interval_ms) {
    double wait = next - now_ms();
    if (wait > 0) {
      struct timespec t = {(time_t)(wait / 1e3), (long)((wait - (double)(long)(wait / 1e3) * 1e3) * 1e6)};
      nanosleep(&t, NULL);
    }
    files = pass(procfs, 0);
    passes++;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  printf("{\"files\":%ld,\"passes\":%ld,\"cpuMs\":%.3f}\n", files, passes, cpu);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 3 && strcmp(argv[1], "--every") == 0) return every(atoi(argv[2]), atoi(argv[3]), argc > 4 ? argv[4] : "/proc");
  int iterations = argc > 1 ? atoi(argv[1]) : 20;
  const char *procfs = argc > 2 ? argv[2] : "/proc";
  if (iterations < 1) iterations = 1;
  double *one = calloc((size_t)iterations, sizeof *one);
  double *eof = calloc((size_t)iterations, sizeof *eof);
  if (!one || !eof) return 1;
  long files = 0;
  /* Warm-up: dentries and inodes of every /proc/<pid> in the cache, as for a long-running exporter. */
  pass(procfs, 0);
  pass(procfs, 1);
  for (int i = 0; i < iterations; i++) {
    double t0 = now_ms();
    files = pass(procfs, 0);
    double t1 = now_ms();
    pass(procfs, 1);
    double t2 = now_ms();
    one[i] = t1 - t0;
    eof[i] = t2 - t1;
  }
  printf("{\"files\":%ld,\"one\":[", files);
  for (int i = 0; i < iterations; i++) printf("%s%.4f", i ? "," : "", one[i]);
  printf("],\"eof\":[");
  for (int i = 0; i < iterations; i++) printf("%s%.4f", i ? "," : "", eof[i]);
  printf("]}\n");
  return 0;
}
