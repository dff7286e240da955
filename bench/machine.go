package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

// loadAvg is the 1-minute load average (Linux), or -1.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// cpuModel reads the processor name where the OS offers it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procCPU is a process's CPU time (user + system) from /proc (Linux),
// assuming the usual 100 clock ticks per second.
func procCPU(pid int) (time.Duration, bool) {
	f, ok := procStat(strconv.Itoa(pid))
	if !ok {
		return 0, false
	}
	return ticks(f[11]) + ticks(f[12]), true
}

// procStat returns the fields of /proc/<pid>/stat after the command name:
// state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
func procStat(pid string) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil, false
	}
	return f, true
}

func ticks(s string) time.Duration {
	n, _ := strconv.ParseUint(s, 10, 64)
	return time.Duration(n) * (time.Second / 100)
}

// otherProcsCPU samples the CPU time of every user-space process but this
// one (Linux), including what their exited children used, so that short
// compile or test processes are counted once their parent reaps them.
// Kernel threads are left out: they mostly do this run's own network and
// disk work.
func otherProcsCPU() (map[int]time.Duration, bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	self := os.Getpid()
	out := make(map[int]time.Duration, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == 2 {
			continue
		}
		f, ok := procStat(e.Name())
		if !ok || f[1] == "2" { // children of kthreadd are kernel threads
			continue
		}
		out[pid] = ticks(f[11]) + ticks(f[12]) + ticks(f[13]) + ticks(f[14])
	}
	return out, true
}
