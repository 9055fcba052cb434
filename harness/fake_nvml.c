// A fake libnvidia-ml.so.1 for the tests: the NVML functions kepler-ts calls, with the signatures
// and struct layouts of NVIDIA's public nvml.h (declared here, not included: the header is not
// installed on test machines), answering from a state file that the test rewrites.
//
// Built by harness/fakeNvml.ts:
//   gcc -shared -fPIC -O2 -Wall -Werror -o <dir>/libnvidia-ml.so.1 -Wl,-soname,libnvidia-ml.so.1 fake_nvml.c
// -DOMIT_<function> leaves an optional function out of the library (an old driver);
// -DFAKE_V3_STRIDE=32 makes nvmlDeviceGetComputeRunningProcesses_v3 write the 32-byte entries of
// the R535 drivers (nvml.h of CUDA 12.2 added usedGpuCcProtectedMemory to nvmlProcessInfo_t
// without a version bump; later headers moved it to nvmlProcessDetail_v1_t and went back to 24).
//
// The state file is named by the environment variable FAKE_NVML_STATE, read at nvmlInit_v2 (so
// two copies of the library loaded in one process can follow two files). It is parsed again
// whenever its inode, size or mtime changes; the test side replaces it atomically (rename).
// One record a line, fields separated by spaces, '#' starts a comment:
//   init_error <nvmlReturn_t>                 nvmlInit_v2 returns it
//   gpu <index> <uuid> <energy_mj> <power_mw> <advance_from_ms> <compute_mode> <mig 0|1> <energy_supported 0|1> <name, to the end of the line>
//        energy = energy_mj + power_mw * (now_ms - advance_from_ms) / 1000 when advance_from_ms > 0
//        (wall clock), so a long test needs no rewriting; devices are counted by their gpu lines,
//        which must come in index order
//   proc <gpu> <pid> <gpu_instance_id> <running 0|1> <sm_util or -1> <sample_time_us>
//        running 1: listed by the running-process functions; sm_util >= 0: one utilization sample,
//        at sample_time_us (CLOCK_REALTIME µs) or, when that is 0, at the time of the call;
//        gpu_instance_id 4294967295 when there is none (no MIG)
//   fail <function> <gpu or -1 for all> <nvmlReturn_t>   that function returns that code
//   driver_generation <n>                     the driver's load: a session initialized under
//        another answers NVML_ERROR_GPU_IS_LOST to every device call until shut down and
//        initialized again (a driver reload)

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#ifndef FAKE_V3_STRIDE
#define FAKE_V3_STRIDE 24
#endif

// ---------------------------------------------------------------------------------------------
// nvml.h declarations

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_UNKNOWN = 999,
};

typedef int nvmlComputeMode_t;

struct nvmlDevice_st {
  unsigned int index;
};
typedef struct nvmlDevice_st *nvmlDevice_t;

typedef struct nvmlProcessInfo_v1_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct nvmlProcessInfo_v2_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t;

// nvmlProcessInfo_t of the current nvml.h, what nvmlDeviceGetComputeRunningProcesses_v3 takes.
typedef nvmlProcessInfo_v2_t nvmlProcessInfo_t;

// The R535 layout of nvmlProcessInfo_t (see the top of the file).
typedef struct nvmlProcessInfo_r535_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
  unsigned long long usedGpuCcProtectedMemory;
} nvmlProcessInfo_r535_t;

typedef struct nvmlProcessUtilizationSample_st {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t is 16 bytes");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "nvmlProcessInfo_v2_t is 24 bytes");
_Static_assert(sizeof(nvmlProcessInfo_r535_t) == 32, "the R535 nvmlProcessInfo_t is 32 bytes");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "nvmlProcessUtilizationSample_t is 32 bytes");
_Static_assert(FAKE_V3_STRIDE == 24 || FAKE_V3_STRIDE == 32, "FAKE_V3_STRIDE is 24 or 32");

// ---------------------------------------------------------------------------------------------
// State

#define MAX_GPUS 16
#define MAX_PROCS 4096
#define MAX_FAILS 64

struct fake_gpu {
  char uuid[96];
  char name[96];
  unsigned long long energy_mj;
  unsigned long long power_mw;
  long long advance_from_ms;
  int compute_mode;
  int mig;
  int energy_supported;
};

struct fake_proc {
  int gpu;
  unsigned int pid;
  unsigned int gpu_instance_id;
  int running;
  int sm_util;
  unsigned long long sample_time_us;
};

struct fake_fail {
  char fn[80];
  int gpu;
  int code;
};

static struct fake_gpu gpus[MAX_GPUS];
static struct fake_proc procs[MAX_PROCS];
static struct fake_fail fails[MAX_FAILS];
static int ngpus, nprocs, nfails, init_error, generation;
static int init_generation; // the generation the session was initialized under
static struct nvmlDevice_st handles[MAX_GPUS];
static int init_count;
static char state_path[4096];
static struct stat loaded; // identity of the file last parsed
static int have_loaded;

static void parse_state(FILE *f) {
  char line[1024];
  ngpus = nprocs = nfails = init_error = generation = 0;
  while (fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    if (strncmp(line, "gpu ", 4) == 0 && ngpus < MAX_GPUS) {
      struct fake_gpu *g = &gpus[ngpus];
      int index = -1;
      memset(g, 0, sizeof *g);
      if (sscanf(line, "gpu %d %95s %llu %llu %lld %d %d %d %95[^\n]", &index, g->uuid, &g->energy_mj, &g->power_mw, &g->advance_from_ms, &g->compute_mode, &g->mig,
                 &g->energy_supported, g->name) == 9 &&
          index == ngpus)
        ngpus++;
    } else if (strncmp(line, "proc ", 5) == 0 && nprocs < MAX_PROCS) {
      struct fake_proc *p = &procs[nprocs];
      if (sscanf(line, "proc %d %u %u %d %d %llu", &p->gpu, &p->pid, &p->gpu_instance_id, &p->running, &p->sm_util, &p->sample_time_us) == 6) nprocs++;
    } else if (strncmp(line, "fail ", 5) == 0 && nfails < MAX_FAILS) {
      struct fake_fail *x = &fails[nfails];
      if (sscanf(line, "fail %79s %d %d", x->fn, &x->gpu, &x->code) == 3) nfails++;
    } else if (strncmp(line, "init_error ", 11) == 0) {
      sscanf(line, "init_error %d", &init_error);
    } else if (strncmp(line, "driver_generation ", 18) == 0) {
      sscanf(line, "driver_generation %d", &generation);
    }
  }
}

/** Parses the state file again when it was replaced or changed; a missing file means no GPU. */
static void refresh_state(void) {
  struct stat st;
  if (state_path[0] == 0 || stat(state_path, &st) != 0) {
    ngpus = nprocs = nfails = init_error = generation = 0;
    have_loaded = 0;
    return;
  }
  if (have_loaded && st.st_ino == loaded.st_ino && st.st_size == loaded.st_size && st.st_mtim.tv_sec == loaded.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == loaded.st_mtim.tv_nsec)
    return;
  FILE *f = fopen(state_path, "r");
  if (!f) return;
  parse_state(f);
  fclose(f);
  loaded = st;
  have_loaded = 1;
}

static int injected(const char *fn, int gpu) {
  for (int i = 0; i < nfails; i++)
    if (strcmp(fails[i].fn, fn) == 0 && (fails[i].gpu < 0 || fails[i].gpu == gpu)) return fails[i].code;
  return NVML_SUCCESS;
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/** The device's index, or -1 when the handle is not one of ours or no longer listed. */
static int device_index(nvmlDevice_t device) {
  if (device < handles || device >= handles + MAX_GPUS) return -1;
  int i = (int)(device - handles);
  return i < ngpus ? i : -1;
}

// The prologue of every device function: initialized, state fresh, a valid handle, no injected failure.
#define DEVICE_CALL(fn)                                \
  if (init_count == 0) return NVML_ERROR_UNINITIALIZED; \
  refresh_state();                                     \
  if (generation != init_generation) return NVML_ERROR_GPU_IS_LOST; \
  int idx = device_index(device);                      \
  if (idx < 0) return NVML_ERROR_INVALID_ARGUMENT;     \
  int failure = injected(fn, idx);                     \
  if (failure != NVML_SUCCESS) return failure;

static nvmlReturn_t copy_string(const char *s, char *out, unsigned int length) {
  if (out == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(s) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  strcpy(out, s);
  return NVML_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Library

nvmlReturn_t nvmlInit_v2(void) {
  const char *path = getenv("FAKE_NVML_STATE");
  snprintf(state_path, sizeof state_path, "%s", path ? path : "");
  have_loaded = 0;
  refresh_state();
  if (init_error != NVML_SUCCESS) return init_error;
  int failure = injected("nvmlInit_v2", -1);
  if (failure != NVML_SUCCESS) return failure;
  for (int i = 0; i < MAX_GPUS; i++) handles[i].index = (unsigned int)i;
  init_generation = generation;
  init_count++;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
  init_count--;
  return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt request issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    default: return "Unknown Error";
  }
}

#ifndef OMIT_nvmlSystemGetDriverVersion
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
  return copy_string("550.54.15-fake", version, length);
}
#endif

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) {
  if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (deviceCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  refresh_state();
  int failure = injected("nvmlDeviceGetCount_v2", -1);
  if (failure != NVML_SUCCESS) return failure;
  *deviceCount = (unsigned int)ngpus;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
  refresh_state();
  if (device == NULL || index >= (unsigned int)ngpus) return NVML_ERROR_INVALID_ARGUMENT;
  int failure = injected("nvmlDeviceGetHandleByIndex_v2", (int)index);
  if (failure != NVML_SUCCESS) return failure;
  *device = &handles[index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  DEVICE_CALL("nvmlDeviceGetName");
  return copy_string(gpus[idx].name, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  DEVICE_CALL("nvmlDeviceGetUUID");
  return copy_string(gpus[idx].uuid, uuid, length);
}

#ifndef OMIT_nvmlDeviceGetTotalEnergyConsumption
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
  DEVICE_CALL("nvmlDeviceGetTotalEnergyConsumption");
  if (energy == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  const struct fake_gpu *g = &gpus[idx];
  if (!g->energy_supported) return NVML_ERROR_NOT_SUPPORTED;
  unsigned long long mj = g->energy_mj;
  if (g->advance_from_ms > 0) {
    long long elapsed_ms = now_us() / 1000 - g->advance_from_ms;
    if (elapsed_ms > 0) mj += g->power_mw * (unsigned long long)elapsed_ms / 1000ULL;
  }
  *energy = mj;
  return NVML_SUCCESS;
}
#endif

#ifndef OMIT_nvmlDeviceGetPowerUsage
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
  DEVICE_CALL("nvmlDeviceGetPowerUsage");
  if (power == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *power = (unsigned int)gpus[idx].power_mw;
  return NVML_SUCCESS;
}
#endif

// The running-process functions of every version share this: count in/out as nvml.h says (in: the
// room in infos; out: the entries written, or needed with NVML_ERROR_INSUFFICIENT_SIZE).
__attribute__((unused)) static nvmlReturn_t running_processes(int idx, unsigned int *infoCount, void *infos, int version) {
  if (infoCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned int n = 0;
  for (int i = 0; i < nprocs; i++)
    if (procs[i].gpu == idx && procs[i].running) n++;
  if (*infoCount < n || (infos == NULL && n > 0)) {
    *infoCount = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  unsigned int k = 0;
  for (int i = 0; i < nprocs; i++) {
    const struct fake_proc *p = &procs[i];
    if (p->gpu != idx || !p->running) continue;
    unsigned long long mem = 1ULL << 30;
    unsigned int ci = gpus[idx].mig ? 0 : 0xFFFFFFFFu;
    unsigned int gi = gpus[idx].mig ? p->gpu_instance_id : 0xFFFFFFFFu;
    if (version == 1) {
      nvmlProcessInfo_v1_t *out = (nvmlProcessInfo_v1_t *)infos + k;
      out->pid = p->pid;
      out->usedGpuMemory = mem;
    } else if (version == 2 || FAKE_V3_STRIDE == 24) {
      nvmlProcessInfo_v2_t *out = (nvmlProcessInfo_v2_t *)infos + k;
      out->pid = p->pid;
      out->usedGpuMemory = mem;
      out->gpuInstanceId = gi;
      out->computeInstanceId = ci;
    } else {
      nvmlProcessInfo_r535_t *out = (nvmlProcessInfo_r535_t *)infos + k;
      out->pid = p->pid;
      out->usedGpuMemory = mem;
      out->gpuInstanceId = gi;
      out->computeInstanceId = ci;
      out->usedGpuCcProtectedMemory = 0;
    }
    k++;
  }
  *infoCount = k;
  return NVML_SUCCESS;
}

#ifndef OMIT_nvmlDeviceGetComputeRunningProcesses_v3
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
  DEVICE_CALL("nvmlDeviceGetComputeRunningProcesses_v3");
  return running_processes(idx, infoCount, infos, 3);
}
#endif

#ifndef OMIT_nvmlDeviceGetComputeRunningProcesses_v2
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_v2_t *infos) {
  DEVICE_CALL("nvmlDeviceGetComputeRunningProcesses_v2");
  return running_processes(idx, infoCount, infos, 2);
}
#endif

#ifndef OMIT_nvmlDeviceGetComputeRunningProcesses
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_v1_t *infos) {
  DEVICE_CALL("nvmlDeviceGetComputeRunningProcesses");
  return running_processes(idx, infoCount, infos, 1);
}
#endif

#ifndef OMIT_nvmlDeviceGetProcessUtilization
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t *utilization, unsigned int *processSamplesCount,
                                             unsigned long long lastSeenTimeStamp) {
  DEVICE_CALL("nvmlDeviceGetProcessUtilization");
  if (processSamplesCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  // As on real GPUs: no per-process utilization in MIG mode.
  if (gpus[idx].mig) return NVML_ERROR_NOT_SUPPORTED;
  unsigned long long now = (unsigned long long)now_us();
  unsigned int n = 0;
  for (int i = 0; i < nprocs; i++) {
    const struct fake_proc *p = &procs[i];
    unsigned long long at = p->sample_time_us ? p->sample_time_us : now;
    if (p->gpu == idx && p->sm_util >= 0 && at > lastSeenTimeStamp) n++;
  }
  if (n == 0) return NVML_ERROR_NOT_FOUND;
  if (utilization == NULL || *processSamplesCount < n) {
    *processSamplesCount = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  unsigned int k = 0;
  for (int i = 0; i < nprocs; i++) {
    const struct fake_proc *p = &procs[i];
    unsigned long long at = p->sample_time_us ? p->sample_time_us : now;
    if (p->gpu != idx || p->sm_util < 0 || at <= lastSeenTimeStamp) continue;
    nvmlProcessUtilizationSample_t *s = &utilization[k++];
    s->pid = p->pid;
    s->timeStamp = at;
    s->smUtil = (unsigned int)p->sm_util;
    s->memUtil = 0;
    s->encUtil = 0;
    s->decUtil = 0;
  }
  *processSamplesCount = k;
  return NVML_SUCCESS;
}
#endif

#ifndef OMIT_nvmlDeviceGetComputeMode
nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, nvmlComputeMode_t *mode) {
  DEVICE_CALL("nvmlDeviceGetComputeMode");
  if (mode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *mode = gpus[idx].compute_mode;
  return NVML_SUCCESS;
}
#endif

#ifndef OMIT_nvmlDeviceGetMigMode
nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode) {
  DEVICE_CALL("nvmlDeviceGetMigMode");
  if (currentMode == NULL || pendingMode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  *currentMode = (unsigned int)gpus[idx].mig;
  *pendingMode = (unsigned int)gpus[idx].mig;
  return NVML_SUCCESS;
}
#endif
