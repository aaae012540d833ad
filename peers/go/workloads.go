// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: concbench authors

// Each function is the C workload of the same name (workloads/*.c) in
// idiomatic Go: the same parameters, the same window, the same invariant,
// the same metric names.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// chanCap maps the workloads' port policies onto Go channels: a Go
// channel is unbuffered (a rendezvous) or a fixed buffer; it has no
// sliding, dropping or unbounded buffer.
func chanCap(policy string, capacity int64, natural int64) (int, bool) {
	switch policy {
	case "default":
		return int(natural), true
	case "rendezvous":
		return 0, true
	case "fixed":
		return int(capacity), true
	}
	return 0, false
}

type msg struct {
	n       int64
	payload []byte
	ints    []int64 // payload_kind=tuple: the one slice, shared
	list    *cell   // payload_kind=list: the one list, shared
}

// cell is a cons cell: a list of N is N cells of 16 bytes each.
type cell struct {
	head int64
	tail *cell
}

func makeMsg(i int64, payload int64) msg {
	m := msg{n: i}
	if payload > 0 {
		m.payload = make([]byte, payload)
		for k := range m.payload {
			m.payload[k] = byte(i)
		}
	}
	return m
}

// ping-pong: two goroutines bounce a message over two channels.
//
// payload_kind=binary: a fresh message a round (payload bytes).  tuple
// and list: one []int64 of `payload` elements, or one linked list of
// `payload` cells, built once and bounced: a channel send copies the
// element (a slice header or a pointer), never what it points to, so the
// round trip stays flat as the payload grows.  message_heap_bytes is the
// bytes the shared object occupies on the heap: payload bytes for a
// binary (0 for the small integer, carried in the channel's element),
// 8 per element for the slice's backing array, 16 per cell for the list
// (an int64 and a pointer; the allocator's 16-byte size class).
func pingPong(p params, o *out) {
	rounds, payload := p.int("rounds"), p.int("payload")
	kind := p.str("payload_kind", "binary")
	var bounced msg
	switch kind {
	case "binary":
	case "tuple":
		bounced.ints = make([]int64, payload)
		for k := range bounced.ints {
			bounced.ints[k] = int64(k)
		}
	case "list":
		if payload < 1 {
			usage("payload=0 with payload_kind=list is the empty list, which is no message; give 1 or more cells")
		}
		for k := payload - 1; k >= 0; k-- {
			bounced.list = &cell{head: k, tail: bounced.list}
		}
	default:
		usage("payload_kind=%s: binary, tuple or list", kind)
	}
	c, ok := chanCap(p.str("policy", "default"), p.int("capacity"), 0)
	if !ok {
		o.unsupported("policy=%s: Go channels are unbuffered or fixed buffers", p.str("policy", ""))
		return
	}
	in, back := make(chan msg, c), make(chan msg, c)
	go func() {
		for m := range in {
			back <- m
		}
		close(back)
	}()
	in <- msg{n: -1} // warm-up: pong is running and parked
	<-back
	bad := int64(0)
	t0 := time.Now()
	for i := int64(0); i < rounds; i++ {
		if kind != "binary" {
			bounced.n = i
			in <- bounced
			m := <-back
			if m.n != i || kind == "tuple" && (len(m.ints) != int(payload) || payload > 0 && m.ints[0] != 0) ||
				kind == "list" && (m.list == nil || m.list.head != 0) {
				bad++
			}
			continue
		}
		in <- makeMsg(i, payload)
		m := <-back
		if m.n != i || int64(len(m.payload)) != payload ||
			(payload > 0 && m.payload[payload-1] != byte(i)) {
			bad++
		}
	}
	t1 := time.Now()
	close(in)
	<-back
	o.window(t0, t1)
	if bad > 0 {
		o.fail("%d replies differed from what was sent", bad)
	}
	o.metricInt("ops", rounds)
	o.metricF64("round_trip_ns", float64(t1.Sub(t0).Nanoseconds())/float64(rounds))
	heap := payload
	switch kind {
	case "tuple":
		heap = 8 * payload
	case "list":
		heap = 16 * payload
	}
	o.metricInt("message_heap_bytes", heap)
}

// spawn: goroutines that report ready and then block in a receive.
func spawn(p params, o *out) {
	n := p.int("tasks")
	coord := make(chan struct{}, n)
	ports := make([]chan struct{}, n)
	for i := range ports {
		ports[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	wg.Add(int(n))
	rss0 := rssBytes()
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		port := ports[i]
		go func() {
			coord <- struct{}{}
			<-port
			wg.Done()
		}()
	}
	t1 := time.Now()
	for i := int64(0); i < n; i++ {
		<-coord
	}
	t2 := time.Now()
	rss1 := rssBytes()
	for _, port := range ports {
		port <- struct{}{}
	}
	wg.Wait()
	o.window(t0, t2)
	o.metricInt("ops", n)
	o.metricF64("spawn_ns_per_task", float64(t1.Sub(t0).Nanoseconds())/float64(n))
	o.metricF64("ready_ns_per_task", float64(t2.Sub(t0).Nanoseconds())/float64(n))
	if rss0 > 0 && rss1 > 0 {
		o.metricF64("rss_per_task_bytes", float64(rss1-rss0)/float64(n))
	}
}

// skynet: the classic Go version (github.com/atemerev/skynet, go/).
func skynetNode(num, size, div int64, parent chan<- int64) {
	if size == 1 {
		parent <- num
		return
	}
	mine := make(chan int64, div)
	step := size / div
	for i := int64(0); i < div; i++ {
		go skynetNode(num+i*step, step, div, mine)
	}
	var sum int64
	for i := int64(0); i < div; i++ {
		sum += <-mine
	}
	parent <- sum
}

func skynet(p params, o *out) {
	leaves, div := p.int("leaves"), p.int("div")
	l := leaves
	for l > 1 && l%div == 0 {
		l /= div
	}
	if l != 1 || div < 2 {
		usage("leaves=%d is not a power of div=%d", leaves, div)
	}
	tasks := int64(0)
	for level := leaves; level >= 1; level /= div {
		tasks += level
		if level == 1 {
			break
		}
	}
	top := make(chan int64, 1)
	t0 := time.Now()
	go skynetNode(0, leaves, div, top)
	sum := <-top
	t1 := time.Now()
	o.window(t0, t1)
	if want := leaves * (leaves - 1) / 2; sum != want {
		o.fail("sum %d, expected %d", sum, want)
	}
	o.metricInt("ops", tasks)
	o.metricInt("result", sum)
	o.metricF64("ns_per_task", float64(t1.Sub(t0).Nanoseconds())/float64(tasks))
}

// alts: the "1000 channels" example with reflect.Select over all of them
// (a select statement needs its cases written out; reflect.Select is Go's
// select over a list built at run time, src/reflect/value.go -> rselect).
func alts(p params, o *out) {
	n, rounds := p.int("channels"), p.int("rounds")
	c, ok := chanCap(p.str("port", "rendezvous"), 1, 0)
	if !ok {
		o.unsupported("port=%s: Go channels are unbuffered or fixed buffers", p.str("port", ""))
		return
	}
	var first, best, spawnBest int64 = 0, math.MaxInt64, math.MaxInt64
	cases := make([]reflect.SelectCase, n)
	seen := make([]bool, n)
	t0w := time.Now()
	for r := int64(0); r < rounds; r++ {
		chans := make([]chan string, n)
		for i := range chans {
			chans[i] = make(chan string, c)
			cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(chans[i])}
			seen[i] = false
		}
		t0 := time.Now()
		for _, ch := range chans {
			ch := ch
			go func() { ch <- "hi" }()
		}
		spawnNs := time.Since(t0).Nanoseconds()
		for got := int64(0); got < n; got++ {
			k, v, ok := reflect.Select(cases)
			if !ok || v.String() != "hi" {
				o.fail("select %d returned something but \"hi\"", got)
				return
			}
			if seen[k] {
				o.fail("channel %d delivered twice", k)
				return
			}
			seen[k] = true
			// A channel that delivered is done: leave it out of the
			// next selects (a nil channel is never ready).
			cases[k].Chan = reflect.ValueOf((chan string)(nil))
		}
		d := time.Since(t0).Nanoseconds()
		if r == 0 {
			first = d
		}
		if d < best {
			best = d
		}
		if spawnNs < spawnBest {
			spawnBest = spawnNs
		}
	}
	o.window(t0w, time.Now())
	o.metricInt("ops", n*rounds)
	o.metricInt("round_ns_first", first)
	o.metricInt("round_ns_min", best)
	o.metricF64("select_ns_per_msg", float64(best)/float64(n))
	o.metricF64("spawn_ns_per_task", float64(spawnBest)/float64(n))
}

func crunch(x uint64, steps int64) uint64 {
	for i := int64(0); i < steps; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 33
	}
	return x
}

func jain(x []float64) float64 {
	var sum, sq float64
	for _, v := range x {
		sum += v
		sq += v * v
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(x)) * sq)
}

// cpu-crunch: hogs that never block beside probes that sleep 1 ms.  The
// hogs have no yield point: only Go's asynchronous preemption (a signal
// after 10 ms on a P) lets anything else run on their Ps.
func cpuCrunch(p params, o *out) {
	hogs, probes := p.int("hogs"), p.int("probes")
	duration := time.Duration(p.int("duration_ms")) * time.Millisecond
	sleep := time.Duration(p.int("sleep_us")) * time.Microsecond
	work := p.int("work")
	if sleep > duration {
		usage("sleep_us is longer than duration_ms: the probes would not measure anything")
	}
	var start atomic.Int64 // the window's opening, ns since progStart
	start.Store(math.MaxInt64)
	now := func() int64 { return int64(time.Since(progStart)) }
	end := func() int64 {
		s := start.Load()
		if s == math.MaxInt64 {
			return s
		}
		return s + int64(duration)
	}
	ready := make(chan struct{}, hogs+probes)
	done := make(chan struct{}, hogs+probes)
	goCh := make(chan struct{})
	progress := make([]int64, hogs+probes)
	lateness := make([][]int64, probes)
	early := make([]int64, probes)
	sink := make([]uint64, hogs)
	for i := int64(0); i < hogs; i++ {
		i := i
		go func() {
			ready <- struct{}{}
			<-goCh
			x := uint64(i) + 1
			units, atOpen := int64(0), int64(-1)
			for {
				if units&63 == 0 {
					e, t := end(), now()
					if atOpen < 0 && t >= start.Load() {
						atOpen = units
					}
					if t >= e {
						break
					}
				}
				x = crunch(x, work)
				units++
			}
			if atOpen >= 0 {
				progress[i] = units - atOpen
			}
			sink[i] = x
			done <- struct{}{}
		}()
	}
	for k := int64(0); k < probes; k++ {
		k := k
		go func() {
			ready <- struct{}{}
			<-goCh
			for {
				intended := now() + int64(sleep)
				if intended > end() && progress[hogs+k] > 0 {
					break
				}
				time.Sleep(sleep)
				late := now() - intended
				if late < 0 {
					early[k]++
					late = 0
				}
				lateness[k] = append(lateness[k], late)
				progress[hogs+k]++
			}
			done <- struct{}{}
		}()
	}
	for i := int64(0); i < hogs+probes; i++ {
		<-ready
	}
	close(goCh)
	t0 := time.Now()
	start.Store(int64(t0.Sub(progStart)))
	for i := int64(0); i < hogs+probes; i++ {
		<-done
	}
	t1 := time.Now()
	o.window(t0, t1)
	var total, pmin, pmax, wakeups, nearly int64 = 0, math.MaxInt64, 0, 0, 0
	share := make([]float64, hogs)
	var all []int64
	for k := int64(0); k < probes; k++ {
		wakeups += progress[hogs+k]
		nearly += early[k]
		all = append(all, lateness[k]...)
		if progress[hogs+k] == 0 {
			o.fail("probe %d never woke up", hogs+k)
		}
	}
	for i := int64(0); i < hogs; i++ {
		total += progress[i]
		share[i] = float64(progress[i])
		if progress[i] < pmin {
			pmin = progress[i]
		}
		if progress[i] > pmax {
			pmax = progress[i]
		}
	}
	if nearly > 0 {
		o.fail("%d probe wake-ups came before their deadline", nearly)
	}
	if hogs == 0 {
		pmin = 0
	}
	o.metricInt("ops", total)
	o.hist("lateness_ns", all)
	if hogs > 0 {
		o.metricF64("fairness_jain", jain(share))
	} else {
		o.metricF64("fairness_jain", 1)
	}
	o.metricInt("hog_progress_min", pmin)
	o.metricInt("hog_progress_max", pmax)
	o.metricInt("probe_wakeups", wakeups)
}

func spinNs(ns int64) {
	t := time.Now()
	for time.Since(t).Nanoseconds() < ns {
	}
}

// mailbox-flood: producers send as fast as they can to one slow consumer
// over a buffered channel: a Go channel is bounded, so the producers block
// (backpressure) once the buffer is full; policy=dropping is the Go idiom
// of a send in a select with a default case.
func mailboxFlood(p params, o *out) {
	np := p.int("producers")
	duration := time.Duration(p.int("duration_ms")) * time.Millisecond
	consume, payload := p.int("consume_ns"), p.int("payload")
	sample := time.Duration(p.int("sample_ms")) * time.Millisecond
	policy := p.str("policy", "default")
	dropping := policy == "dropping"
	c, ok := chanCap(policy, p.int("capacity"), p.int("capacity"))
	if dropping {
		c, ok = int(p.int("capacity")), true
	}
	if !ok {
		o.unsupported("policy=%s: a Go channel is unbuffered or a fixed buffer (a send in a select with default drops)", policy)
		return
	}
	inbox := make(chan msg, c)
	var endNs int64
	goCh := make(chan struct{})
	done := make(chan struct{}, np+2)
	sent, dropped := make([]int64, np), make([]int64, np)
	for i := int64(0); i < np; i++ {
		i := i
		go func() {
			<-goCh
			for k := int64(0); ; k++ {
				if k&63 == 0 && int64(time.Since(progStart)) >= endNs {
					break
				}
				m := makeMsg(k, payload)
				if dropping {
					select {
					case inbox <- m:
					default:
						dropped[i]++
					}
				} else {
					inbox <- m
				}
				sent[i]++
			}
			done <- struct{}{}
		}()
	}
	var received int64
	go func() {
		<-goCh
		for range inbox {
			received++
			if consume > 0 && int64(time.Since(progStart)) < endNs {
				spinNs(consume)
			}
		}
		done <- struct{}{}
	}()
	stop := make(chan struct{})
	var peak int64
	go func() {
		<-goCh
		tick := time.NewTicker(sample)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- struct{}{}
				return
			case <-tick.C:
				t := int64(time.Since(progStart)) - (endNs - int64(duration))
				l := int64(len(inbox))
				if l > peak {
					peak = l
				}
				o.point("queue_len", t, float64(l))
				o.point("rss_bytes", t, float64(rssBytes()))
			}
		}
	}()
	rss0 := rssBytes()
	t0 := time.Now()
	endNs = int64(t0.Sub(progStart)) + int64(duration)
	close(goCh)
	for i := int64(0); i < np; i++ {
		<-done
	}
	t1 := time.Now()
	rss1 := rssBytes()
	backlog := int64(len(inbox))
	close(inbox)
	<-done
	close(stop)
	<-done
	o.window(t0, t1)
	var s, d int64
	for i := range sent {
		s += sent[i]
		d += dropped[i]
	}
	if received != s-d {
		o.fail("received %d of %d sent with %d dropped", received, s, d)
	}
	o.metricInt("ops", s)
	o.metricInt("received", received)
	o.metricInt("dropped", d)
	o.metricInt("backlog_at_stop", backlog)
	o.metricInt("peak_queue_len", peak)
	if backlog > 0 && rss1 > rss0 {
		o.metricF64("bytes_per_queued_msg", float64(rss1-rss0)/float64(backlog))
	}
}

func mix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func nextRand(s *uint64) uint64 {
	x := *s
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*s = x
	return x * 0x2545F4914F6CDD1D
}

type account struct {
	sync.Mutex
	balance int64
	_       [40]byte // one account per cache line
}

// bank: accounts guarded by a sync.Mutex each; a transfer locks its two
// accounts in index order (so transfer(a,b) and transfer(b,a) cannot
// deadlock), an audit locks them all in the same order.
func bank(p params, o *out) {
	na, n := p.int("accounts"), p.int("tasks")
	initial, maxAmount := p.int("initial"), p.int("max_amount")
	ops := p.int("ops")
	auditPer64k := uint64(p.int("audit_pct") * 65536 / 100)
	duration := time.Duration(p.int("duration_ms")) * time.Millisecond
	seed := uint64(p.int("seed"))
	if na < 2 {
		usage("accounts=%d: a transfer needs two accounts", na)
	}
	acct := make([]account, na)
	for i := range acct {
		acct[i].balance = initial
	}
	type result struct{ transfers, declined, audits, torn, badSum int64 }
	results := make([]result, n)
	lat := make([][]int64, n)
	var endNs int64
	progress := make([]int64, n) // each worker's operations, for the watchdog
	finished := make([]int32, n)
	goCh := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(int(n))
	for w := int64(0); w < n; w++ {
		w := w
		go func() {
			defer wg.Done()
			rng := mix(seed^uint64(w+1)) | 1
			r := &results[w]
			buf := make([]int64, na)
			<-goCh
			defer atomic.StoreInt32(&finished[w], 1)
			for op := int64(0); ; op++ {
				if ops > 0 && op >= ops || ops == 0 && op&63 == 0 && int64(time.Since(progStart)) >= endNs {
					break
				}
				atomic.StoreInt64(&progress[w], op)
				x := nextRand(&rng)
				if x&0xffff < auditPer64k {
					t := time.Now()
					for i := range acct {
						acct[i].Lock()
					}
					for i := range acct {
						buf[i] = acct[i].balance
					}
					for i := len(acct) - 1; i >= 0; i-- {
						acct[i].Unlock()
					}
					lat[w] = append(lat[w], time.Since(t).Nanoseconds())
					var sum int64
					for _, v := range buf {
						sum += v
					}
					if sum != na*initial {
						if r.torn == 0 {
							r.badSum = sum
						}
						r.torn++
					}
					r.audits++
					continue
				}
				a := (x >> 16) % uint64(na)
				b := (a + 1 + (x>>40)%uint64(na-1)) % uint64(na)
				amount := 1 + int64(nextRand(&rng)%uint64(maxAmount))
				lo, hi := a, b
				if lo > hi {
					lo, hi = hi, lo
				}
				acct[lo].Lock()
				acct[hi].Lock()
				if acct[a].balance >= amount {
					acct[a].balance -= amount
					acct[b].balance += amount
				} else {
					r.declined++
				}
				acct[hi].Unlock()
				acct[lo].Unlock()
				r.transfers++
			}
		}()
	}
	t0 := time.Now()
	endNs = int64(t0.Sub(progStart)) + int64(duration)
	close(goCh)
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	longest, starved, stalled := bankWatch(progress, finished, allDone,
		p.int("stall_ms")*int64(time.Millisecond))
	t1 := time.Now()
	o.window(t0, t1)
	if stalled > 0 {
		o.fail("deadlock: none of the %d running workers (of %d) made progress for %d ms",
			stalled, n, p.int("stall_ms"))
		o.metricInt("ops", 0)
		return
	}
	var tot result
	var all []int64
	for i, r := range results {
		tot.transfers += r.transfers
		tot.declined += r.declined
		tot.audits += r.audits
		tot.torn += r.torn
		all = append(all, lat[i]...)
		if r.torn > 0 && tot.torn == r.torn {
			o.fail("torn audit: worker %d saw a total of %d, wanted %d (%d torn audits)", i, r.badSum, na*initial, r.torn)
		}
	}
	var sum, negative int64
	for i := range acct {
		sum += acct[i].balance
		if acct[i].balance < 0 {
			negative++
		}
	}
	lost := na*initial - sum
	if lost != 0 || negative > 0 {
		what, units := "lost", lost
		if lost < 0 {
			what, units = "created", -lost
		}
		o.fail("total after the run is %d, wanted %d: %d units %s; %d accounts negative",
			sum, na*initial, units, what, negative)
	}
	el := t1.Sub(t0).Nanoseconds()
	o.metricInt("ops", tot.transfers)
	o.metricInt("transfers", tot.transfers)
	o.metricInt("declined", tot.declined)
	o.metricInt("audits", tot.audits)
	o.metricInt("torn_audits", tot.torn)
	o.metricInt("lost_units", lost)
	o.metricInt("longest_stall_ns", longest)
	o.metricInt("starved_workers", starved)
	o.metricF64("audits_per_s", float64(tot.audits)*1e9/float64(el))
	o.hist("audit_latency_ns", all)
}

// bankWatch is workloads/bank.c's watchdog: every 10 ms it samples each
// running worker's progress; one worker's longest gap between operations
// is longest_stall_ns, the workers that went stallNs without one are
// starved (a fairness figure); no running worker moving for stallNs (and
// 10 samples) is a deadlock: it returns the count of those workers.
func bankWatch(progress []int64, finished []int32, allDone <-chan struct{},
	stallNs int64) (longest, starved, stalled int64) {
	n := len(progress)
	last, since := make([]int64, n), make([]int64, n)
	isStarved := make([]bool, n)
	now := time.Now().UnixNano()
	for i := range since {
		since[i] = now
	}
	anySince, quiet := now, 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-allDone:
			return longest, starved, 0
		case <-tick.C:
		}
		now = time.Now().UnixNano()
		moved, running := false, int64(0)
		for i := 0; i < n; i++ {
			if atomic.LoadInt32(&finished[i]) != 0 {
				continue
			}
			running++
			pr := atomic.LoadInt64(&progress[i])
			gap := now - since[i]
			if gap > longest {
				longest = gap
			}
			if gap >= stallNs && !isStarved[i] {
				isStarved[i] = true
				starved++
			}
			if pr != last[i] {
				last[i], since[i], moved = pr, now, true
			}
		}
		if moved {
			anySince, quiet = now, 0
			continue
		}
		if quiet++; quiet >= 10 && now-anySince >= stallNs && running > 0 {
			return longest, starved, running
		}
	}
}

type request struct{ id, t0 int64 }

// io-fanout: workers each own a connected pair of loopback TCP sockets;
// a goroutine blocked on a socket parks in the netpoller.
func ioFanout(p params, o *out) {
	n, ops, payload := p.int("tasks"), p.int("ops"), p.int("payload")
	latency := time.Duration(p.int("latency_us")) * time.Microsecond
	rate := p.int("rate")
	if t := p.str("transport", "tcp"); t != "tcp" {
		o.unsupported("transport=%s: the real systems run loopback TCP only", t)
		return
	}
	if payload < 8 {
		usage("payload=%d: a request carries its 8-byte id", payload)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		o.fail("listening on 127.0.0.1: %v", err)
		return
	}
	type pair struct{ a, b net.Conn }
	pairs := make([]pair, n)
	for i := range pairs {
		a, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			o.fail("connecting pair %d: %v", i, err)
			return
		}
		b, err := ln.Accept()
		if err != nil {
			o.fail("accepting pair %d: %v", i, err)
			return
		}
		pairs[i] = pair{a, b}
	}
	ln.Close()
	replies := make(chan request, 2*n)
	ready := make(chan struct{}, n)
	ports := make([]chan request, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Add(int(n))
	rss0 := rssBytes()
	ts := time.Now()
	for i := range ports {
		i := i
		ports[i] = make(chan request, ops)
		go func() {
			defer wg.Done()
			out, in := make([]byte, payload), make([]byte, payload)
			ready <- struct{}{}
			for req := range ports[i] {
				for k := range out {
					out[k] = byte(req.id & 0x7f)
				}
				binary.LittleEndian.PutUint64(out, uint64(req.id))
				c := pairs[i]
				_, err := c.a.Write(out)
				if err == nil {
					_, err = io.ReadFull(c.b, in)
				}
				if err == nil && latency > 0 {
					time.Sleep(latency)
				}
				if err == nil {
					_, err = c.b.Write(in)
				}
				if err == nil {
					_, err = io.ReadFull(c.a, in)
				}
				if err == nil && !bytes.Equal(out, in) {
					err = io.ErrUnexpectedEOF
				}
				if err != nil && errs[i] == nil {
					errs[i] = err
				}
				replies <- req
			}
		}()
	}
	spawnNs := time.Since(ts).Nanoseconds()
	for i := int64(0); i < n; i++ {
		<-ready
	}
	rss1 := rssBytes()
	total := n * ops
	answered := make([]bool, total)
	var lat []int64
	var got, dupes int64
	now := func() int64 { return int64(time.Since(progStart)) }
	take := func(r request) {
		lat = append(lat, now()-r.t0)
		if r.id < 0 || r.id >= total || answered[r.id] {
			dupes++
		} else {
			answered[r.id] = true
		}
		got++
	}
	t0 := time.Now()
	if rate == 0 {
		for i := int64(0); i < n; i++ {
			ports[i] <- request{i, now()}
		}
		for got < total {
			r := <-replies
			take(r)
			if r.id+n < total {
				ports[(r.id+n)%n] <- request{r.id + n, now()}
			}
		}
	} else {
		period := 1e9 / float64(rate)
		start, next := now(), int64(0)
		timer := time.NewTimer(time.Hour)
		for got < total {
			due := start + int64(float64(next)*period)
			if next < total && now() >= due {
				ports[next%n] <- request{next, due}
				next++
				continue
			}
			if next < total {
				timer.Reset(time.Duration(due - now()))
				select {
				case r := <-replies:
					take(r)
				case <-timer.C:
				}
			} else {
				take(<-replies)
			}
		}
	}
	t1 := time.Now()
	for _, port := range ports {
		close(port)
	}
	wg.Wait()
	for _, c := range pairs {
		c.a.Close()
		c.b.Close()
	}
	o.window(t0, t1)
	if got != total || dupes > 0 {
		o.fail("%d replies for %d requests (%d duplicates)", got, total, dupes)
	}
	for i, e := range errs {
		if e != nil {
			o.fail("worker %d: IO round trip failed: %v", i, e)
			break
		}
	}
	o.metricInt("ops", got)
	o.hist("latency_ns", lat)
	o.metricInt("tasks", n)
	o.metricF64("spawn_ns_per_task", float64(spawnNs)/float64(n))
	if rss0 > 0 && rss1 > 0 {
		o.metricF64("rss_per_task_bytes", float64(rss1-rss0)/float64(n))
	}
}

// supervision: Go has no supervisor and no links.  `workers` goroutines
// do operations of op_ns each, committing every `batch`, and after each
// one crash with probability crash_ppm per million (xorshift64* per
// worker, seeded as workloads/supervision.c) by panic({crash, I}).  A
// panic that no deferred recover catches ends the whole program, every
// other goroutine with it, with the panic's message and exit status 2
// (the Go spec, "Handling panics"; src/runtime/panic.go fatalpanic).
// That is the outcome, and the program here does nothing about it: no
// deferred recover, so the runtime prints the panic and the goroutine's
// stack on stderr and exits with status 2, and the runner records what it
// records for any program that dies before its result: "crashed",
// "exited with status 2 before reporting a result", the panic in its last
// words.  The csp model with crash=panic ends the same way
// (cb_model_die: the message on stderr, exit status 2).  Rejected: a
// recover in every goroutine that printed an outcome line, which made the
// run "failed" (a broken invariant, which it is not) and made this
// program one no Go programmer writes.  A program that wants to live on
// recovers in every goroutine it starts and restarts the work itself,
// which is a supervisor written by hand.
// With crash_ppm=0 nothing crashes and the run reports the C workload's
// metrics: supervised=0, restarts=0.
type crash struct{ worker int64 }

func (c crash) Error() string { return fmt.Sprintf("{crash, %d}", c.worker) }

func supervision(p params, o *out) {
	n, ppm := p.int("workers"), p.int("crash_ppm")
	opNs, batch := p.int("op_ns"), p.int("batch")
	duration := time.Duration(p.int("duration_ms")) * time.Millisecond
	seed := uint64(p.int("seed"))
	if n < 1 || batch < 1 {
		usage("workers=%d batch=%d: each at least 1", n, batch)
	}
	threshold := uint64(math.MaxUint64)
	if ppm < 1000000 {
		threshold = uint64(float64(ppm) / 1e6 * 18446744073709551616.0)
	}
	type slot struct{ committed, lost, crashes int64 }
	slots := make([]slot, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	end := t0.Add(duration)
	for i := int64(0); i < n; i++ {
		wg.Add(1)
		i := i
		go func() {
			defer wg.Done()
			s := &slots[i]
			rng := mix(seed+uint64(i)) | 1
			pending := int64(0)
			for time.Now().Before(end) {
				spinNs(opNs)
				if pending++; pending == batch {
					s.committed += pending
					pending = 0
				}
				if threshold != 0 && nextRand(&rng) < threshold {
					s.lost += pending
					s.crashes++
					panic(crash{i})
				}
			}
			s.committed += pending
		}()
	}
	wg.Wait()
	t1 := time.Now()
	o.window(t0, t1)
	var ops int64
	for _, s := range slots {
		ops += s.committed
	}
	o.metricInt("ops", ops)
	o.metricInt("crashes", 0)
	o.metricInt("restarts", 0)
	o.metricInt("work_lost", 0)
	o.metricInt("workers_alive_at_end", n)
	o.metricInt("supervised", 0)
	o.metricInt("supervisor_gave_up", 0)
	o.metricInt("survived", 1)
	o.lines = append(o.lines, "hist restart_latency_ns 0 0 0 0 0 0 0 0")
}
