// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: concbench authors

// The concbench workloads in Go, stdlib only: one program, one workload
// per run, parameters as key=value arguments (the C workload's names and
// values, resolved by the runner), results on stdout in the runner's line
// protocol (runner/child.c; contract in peers/README.md).
//
// What is Go's own here and what is measured: goroutines on GOMAXPROCS
// Ps (the run script sets it from CONCBENCH_CPUS), channels (unbuffered
// = a rendezvous, buffered = a fixed ring; src/runtime/chan.go), select
// and reflect.Select (src/runtime/select.go: lock every channel in
// address order, enqueue on each, park), sync.Mutex, net on 127.0.0.1
// (the netpoller: a goroutine blocked on a socket parks, its M goes on),
// asynchronous preemption of tight loops by signal since Go 1.14
// (src/runtime/proc.go: sysmon preempts a G that has run for over
// forcePreemptNS, 10 ms; src/runtime/preempt.go delivers it by SIGURG),
// and a panic that no deferred recover catches ends the whole
// program (src/runtime/panic.go: fatalpanic), which is what Go has where
// Erlang has supervisors.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

var progStart = time.Now()

type params map[string]string

func (p params) int(name string) int64 {
	s, ok := p[name]
	if !ok {
		usage("missing parameter %s", name)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		usage("parameter %s=%q is not an integer", name, s)
	}
	return v
}

func (p params) str(name, def string) string {
	if s, ok := p[name]; ok {
		return s
	}
	return def
}

func usage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "concbench-go: "+format+"\n", a...)
	os.Exit(2)
}

// out collects the records; written at the end, outcome last.
type out struct {
	lines   []string
	openNs  int64
	lenNs   int64
	outcome string
}

func (o *out) metricInt(name string, v int64) {
	o.lines = append(o.lines, fmt.Sprintf("metric %s int %d", name, v))
}

func (o *out) metricF64(name string, v float64) {
	o.lines = append(o.lines, fmt.Sprintf("metric %s f64 %.15g", name, v))
}

func (o *out) point(name string, t int64, v float64) {
	o.lines = append(o.lines, fmt.Sprintf("point %s %d %.15g", name, t, v))
}

func (o *out) counter(name string, v int64) {
	o.lines = append(o.lines, fmt.Sprintf("counter %s %d", name, v))
}

// hist reports nanosecond samples as the runner's hist record (nearest
// rank percentiles over every sample: the counts here are small).
func (o *out) hist(name string, v []int64) {
	if len(v) == 0 {
		return
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	var sum float64
	for _, x := range v {
		sum += float64(x)
	}
	pct := func(p float64) int64 {
		k := int(p/100*float64(len(v))+0.999999) - 1
		if k < 0 {
			k = 0
		}
		if k >= len(v) {
			k = len(v) - 1
		}
		return v[k]
	}
	o.lines = append(o.lines, fmt.Sprintf("hist %s %d %d %d %.15g %d %d %d %d",
		name, len(v), v[0], v[len(v)-1], sum/float64(len(v)), pct(50),
		pct(90), pct(99), pct(99.9)))
}

// window: t0 and t1 are the window's ends.
func (o *out) window(t0, t1 time.Time) {
	o.openNs = int64(t0.Sub(progStart))
	o.lenNs = int64(t1.Sub(t0))
}

func (o *out) fail(format string, a ...interface{}) {
	if o.outcome == "" {
		o.outcome = "failed " + fmt.Sprintf(format, a...)
	}
}

func (o *out) unsupported(format string, a ...interface{}) {
	if o.outcome == "" {
		o.outcome = "unsupported " + fmt.Sprintf(format, a...)
	}
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

type workload struct {
	run         func(p params, o *out)
	unsupported string
}

var workloads = map[string]workload{
	"ping-pong":     {run: pingPong},
	"spawn":         {run: spawn},
	"skynet":        {run: skynet},
	"alts":          {run: alts},
	"cpu-crunch":    {run: cpuCrunch},
	"mailbox-flood": {run: mailboxFlood},
	"bank":          {run: bank},
	"io-fanout":     {run: ioFanout},
	"selective-receive": {unsupported: "Go channels have no selective " +
		"receive: a receive takes the head of the channel, and matching " +
		"by pattern past a backlog would be a hand-written scan and " +
		"requeue, which is not Go"},
	"supervision": {run: supervision},
}

func main() {
	if len(os.Args) < 2 {
		usage("usage: concbench-go WORKLOAD key=value...")
	}
	if os.Args[1] == "--workloads" {
		names := make([]string, 0, len(workloads))
		for n := range workloads {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if w := workloads[n]; w.unsupported != "" {
				fmt.Printf("%s unsupported: %s\n", n, w.unsupported)
			} else {
				fmt.Println(n)
			}
		}
		return
	}
	w, ok := workloads[os.Args[1]]
	if !ok {
		usage("unknown workload %q", os.Args[1])
	}
	p := params{}
	for _, a := range os.Args[2:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			usage("arguments are key=value, got %q", a)
		}
		p[k] = v
	}
	o := &out{}
	if w.unsupported != "" {
		o.unsupported("%s", w.unsupported)
	} else {
		w.run(p, o)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, l := range o.lines {
		fmt.Println(l)
	}
	if o.lenNs > 0 {
		fmt.Printf("metric elapsed_ns int %d\n", o.lenNs)
		fmt.Printf("window %d %d\n", o.openNs, o.lenNs)
	}
	fmt.Printf("counter gc_count %d\n", ms.NumGC)
	fmt.Printf("counter gc_pause_ns %d\n", ms.PauseTotalNs)
	fmt.Printf("counter gomaxprocs %d\n", runtime.GOMAXPROCS(0))
	if o.outcome == "" {
		o.outcome = "ok"
	}
	fmt.Printf("outcome %s\n", strings.ReplaceAll(o.outcome, "\n", " "))
}
