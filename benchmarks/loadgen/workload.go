package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one run's measurement.
type result struct {
	Adapter   string `json:"adapter"`
	Workload  string `json:"workload"`
	Run       int    `json:"run"`
	Producers int    `json:"producers"`
	Consumers int    `json:"consumers"`
	Batch     int    `json:"batch"`
	Size      int    `json:"size"`
	Setup     string `json:"setup"`
	// Seconds is the measured window (drain: from the first receive to the N-th ack).
	Seconds float64 `json:"seconds"`
	// Msgs are the messages counted in the window: sent (produce), received (e2e), acked (drain).
	Msgs       int64   `json:"msgs"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	// SentPerSec is the producers' rate in e2e (MsgsPerSec is the consumers' there).
	SentPerSec float64 `json:"sent_per_sec,omitempty"`
	// Latency says what the percentiles measure: send-ack (one Send call, i.e. one batch),
	// end-to-end (body timestamp to receipt, per message) or receive+ack (one consume cycle).
	Latency     string   `json:"latency"`
	Samples     int      `json:"samples"`
	P50ms       float64  `json:"p50_ms"`
	P99ms       float64  `json:"p99_ms"`
	P999ms      float64  `json:"p999_ms"`
	MaxMs       float64  `json:"max_ms"`
	Errors      int64    `json:"errors"`
	FirstErrors []string `json:"first_errors,omitempty"`
	// PreloadPerSec is the (untimed) preload rate of drain, for information.
	PreloadPerSec float64 `json:"preload_per_sec,omitempty"`
	// Rate is the producers' target rate (--rate), 0 for as fast as acks come back.
	Rate float64 `json:"rate,omitempty"`
	// LoadAvg is /proc/loadavg's 1-minute load before and after the run: other work on the
	// machine shows here.
	LoadAvg string `json:"loadavg"`
}

func (r *result) setLatencies(kind string, l latencies) {
	r.Latency = kind
	r.Samples = len(l)
	r.P50ms = ms(l.percentile(50))
	r.P99ms = ms(l.percentile(99))
	r.P999ms = ms(l.percentile(99.9))
	r.MaxMs = ms(l.percentile(100))
}

func (r *result) print(w io.Writer, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(w, string(b))
		return
	}
	extra := ""
	if r.SentPerSec > 0 {
		extra = fmt.Sprintf(", sent %.0f msgs/s", r.SentPerSec)
	}
	if r.PreloadPerSec > 0 {
		extra = fmt.Sprintf(", preload %.0f msgs/s", r.PreloadPerSec)
	}
	if r.Rate > 0 {
		extra += fmt.Sprintf(", target %.0f msgs/s", r.Rate)
	}
	fmt.Fprintf(w, "run %d: %s %s P=%d C=%d batch=%d size=%d: %.0f msgs/s (%d msgs in %.2fs%s); %s latency ms p50 %.3f p99 %.3f p99.9 %.3f max %.3f (%d samples); errors %d; load %s\n",
		r.Run, r.Adapter, r.Workload, r.Producers, r.Consumers, r.Batch, r.Size, r.MsgsPerSec, r.Msgs, r.Seconds, extra,
		r.Latency, r.P50ms, r.P99ms, r.P999ms, r.MaxMs, r.Samples, r.Errors, r.LoadAvg)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func summaryHeader() string {
	return "| setup | msgs/s (median) | p50 ms | p99 ms | p99.9 ms | latency of | runs (msgs/s min–max) | errors |\n| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |"
}

// summaryRow is the markdown row with the medians of the runs.
func summaryRow(c *config, rs []*result) string {
	pick := func(f func(*result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	rates := make([]float64, len(rs))
	var errs int64
	for i, r := range rs {
		rates[i] = r.MsgsPerSec
		errs += r.Errors
	}
	return fmt.Sprintf("| %s | %.0f | %.2f | %.2f | %.2f | %s | %d (%.0f–%.0f) | %d |",
		c.rowLabel(), median(rates),
		pick(func(r *result) float64 { return r.P50ms }),
		pick(func(r *result) float64 { return r.P99ms }),
		pick(func(r *result) float64 { return r.P999ms }),
		rs[0].Latency, len(rs), slices.Min(rates), slices.Max(rates), errs)
}

// counters are what the progress line shows.
type counters struct {
	sent, recv atomic.Int64
}

// startProgress prints a progress line to w once a second until stop is called.
func startProgress(w io.Writer, what string, cs *counters) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var lastS, lastR int64
		last := start
		for {
			select {
			case <-done:
				fmt.Fprintln(w)
				return
			case now := <-t.C:
				s, r := cs.sent.Load(), cs.recv.Load()
				dt := now.Sub(last).Seconds()
				fmt.Fprintf(w, "\r%s  %4.0fs  sent %d (%.0f msgs/s)  recv %d (%.0f msgs/s)   ",
					what, now.Sub(start).Seconds(), s, float64(s-lastS)/dt, r, float64(r-lastR)/dt)
				lastS, lastR, last = s, r, now
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// loadAvg returns the 1-minute load average ("?" where /proc/loadavg is missing).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// window is the measured interval.
type window struct{ start, end time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && !t.After(w.end) }

// runOnce does one run of the configured workload on a fresh destination.
func runOnce(ctx context.Context, cfg *config, drv Driver, run int, progress io.Writer) (*result, error) {
	if err := drv.Prepare(ctx, run); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = drv.Cleanup(cctx)
	}()
	r := &result{
		Adapter: cfg.adapter, Workload: cfg.workload, Run: run + 1,
		Producers: cfg.producers, Consumers: cfg.consumers, Batch: cfg.batch, Size: cfg.size,
	}
	load0 := loadAvg()
	defer func() { r.LoadAvg = load0 + "→" + loadAvg() }()
	r.Rate = cfg.rate
	var err error
	switch cfg.workload {
	case "produce":
		r.Consumers = 0
		err = runTimed(ctx, cfg, drv, cfg.producers, 0, r, progress)
	case "e2e":
		err = runTimed(ctx, cfg, drv, cfg.producers, cfg.consumers, r, progress)
	case "drain":
		r.Producers = cfg.preloadP
		r.Batch = 16
		err = runDrain(ctx, cfg, drv, r, progress)
	}
	return r, err
}

// openWorkers makes n adapters of one role, closing them all if one fails.
func openWorkers(ctx context.Context, drv Driver, first, n int, ro role) ([]Adapter, error) {
	ws := make([]Adapter, 0, n)
	for i := range n {
		a, err := drv.NewWorker(ctx, first+i, ro)
		if err != nil {
			closeAll(ws)
			return nil, fmt.Errorf("worker %d: %w", first+i, err)
		}
		ws = append(ws, a)
	}
	return ws, nil
}

func closeAll(ws []Adapter) {
	for _, w := range ws {
		_ = w.Close()
	}
}

// runTimed runs P producers and C consumers for warmup+duration and measures the window after
// the warmup.
func runTimed(ctx context.Context, cfg *config, drv Driver, nProd, nCons int, r *result, progress io.Writer) error {
	prods, err := openWorkers(ctx, drv, 0, nProd, roleProducer)
	if err != nil {
		return err
	}
	defer closeAll(prods)
	cons, err := openWorkers(ctx, drv, nProd, nCons, roleConsumer)
	if err != nil {
		return err
	}
	defer closeAll(cons)

	var cs counters
	var errs errorLog
	var sentInWin, recvInWin atomic.Int64
	t0 := time.Now()
	win := window{start: t0.Add(cfg.warmup), end: t0.Add(cfg.warmup + cfg.duration)}
	// Workers get a context that ends a little after the window, so that a blocked call
	// cannot hold the run much longer than asked.
	wctx, cancel := context.WithDeadline(ctx, win.end.Add(15*time.Second))
	defer cancel()
	stop := startProgress(progress, fmt.Sprintf("[%s %s run %d]", cfg.adapter, cfg.workload, r.Run), &cs)

	prodRecs := make([]*recorder, nProd)
	consRecs := make([]*recorder, nCons)
	var wg sync.WaitGroup
	template := newBody(cfg.size)
	for i, a := range prods {
		rec := &recorder{}
		prodRecs[i] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			// With --rate, each producer sends its share on a fixed schedule (open loop,
			// but never more than one call in flight per producer).
			var interval time.Duration
			if cfg.rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(cfg.batch) * float64(nProd) / cfg.rate)
			}
			next := t0
			for {
				if interval > 0 {
					next = next.Add(interval)
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
				}
				start := time.Now()
				if !start.Before(win.end) || wctx.Err() != nil {
					return
				}
				// Fresh bodies for every send: no adapter may see its buffers change later.
				bodies := make([][]byte, cfg.batch)
				for j := range bodies {
					b := make([]byte, len(template))
					copy(b, template)
					fillBody(b, start)
					bodies[j] = b
				}
				err := a.Send(wctx, bodies)
				done := time.Now()
				if err != nil {
					if wctx.Err() != nil {
						return
					}
					errs.add(err)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				cs.sent.Add(int64(cfg.batch))
				if win.contains(done) {
					sentInWin.Add(int64(cfg.batch))
					rec.add(done.Sub(start))
				}
			}
		}()
	}
	for i, a := range cons {
		rec := &recorder{}
		consRecs[i] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if !time.Now().Before(win.end) || wctx.Err() != nil {
					return
				}
				msgs, err := a.Receive(wctx, cfg.recvBatch)
				got := time.Now()
				if err != nil {
					if wctx.Err() != nil {
						return
					}
					errs.add(fmt.Errorf("receive: %w", err))
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if len(msgs) == 0 {
					continue
				}
				in := win.contains(got)
				for _, m := range msgs {
					ts, err := bodyTime(m.Body)
					if err != nil {
						errs.add(err)
						continue
					}
					if in {
						rec.add(got.Sub(ts))
					}
				}
				cs.recv.Add(int64(len(msgs)))
				if in {
					recvInWin.Add(int64(len(msgs)))
				}
				if err := a.Ack(wctx, msgs); err != nil && wctx.Err() == nil {
					errs.add(fmt.Errorf("ack: %w", err))
				}
			}
		}()
	}
	wg.Wait()
	stop()
	secs := cfg.duration.Seconds()
	r.Seconds = secs
	r.Errors, r.FirstErrors = errs.snapshot()
	if nCons == 0 {
		r.Msgs = sentInWin.Load()
		r.MsgsPerSec = float64(r.Msgs) / secs
		r.setLatencies("send-ack", merge(prodRecs))
	} else {
		r.Msgs = recvInWin.Load()
		r.MsgsPerSec = float64(r.Msgs) / secs
		r.SentPerSec = float64(sentInWin.Load()) / secs
		r.setLatencies("end-to-end", merge(consRecs))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if r.Msgs == 0 && r.Errors > 0 {
		return fmt.Errorf("no message in the window, %d errors (first: %v)", r.Errors, r.FirstErrors)
	}
	return nil
}

// runDrain preloads cfg.n messages, then times C consumers receiving and acking them all.
func runDrain(ctx context.Context, cfg *config, drv Driver, r *result, progress io.Writer) error {
	var cs counters
	var errs errorLog
	n := int64(cfg.n)

	// 1. Preload (untimed for the result, bounded by --timeout).
	prods, err := openWorkers(ctx, drv, 0, cfg.preloadP, roleProducer)
	if err != nil {
		return err
	}
	pctx, pcancel := context.WithTimeout(ctx, cfg.timeout)
	stop := startProgress(progress, fmt.Sprintf("[%s preload run %d]", cfg.adapter, r.Run), &cs)
	template := newBody(cfg.size)
	var next atomic.Int64
	var wg sync.WaitGroup
	pstart := time.Now()
	for _, a := range prods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pctx.Err() == nil {
				hi := next.Add(16)
				lo := hi - 16
				if lo >= n {
					return
				}
				k := int(min(hi, n) - lo)
				for attempt := 0; ; attempt++ {
					bodies := make([][]byte, k)
					now := time.Now()
					for j := range bodies {
						b := make([]byte, len(template))
						copy(b, template)
						fillBody(b, now)
						bodies[j] = b
					}
					err := a.Send(pctx, bodies)
					if err == nil {
						cs.sent.Add(int64(k))
						break
					}
					if pctx.Err() != nil {
						return
					}
					errs.add(fmt.Errorf("preload: %w", err))
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	stop()
	pdur := time.Since(pstart)
	pcancel()
	closeAll(prods)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if got := cs.sent.Load(); got < n {
		r.Errors, r.FirstErrors = errs.snapshot()
		return fmt.Errorf("preload: only %d of %d messages sent within --timeout %v", got, n, cfg.timeout)
	}
	r.PreloadPerSec = float64(n) / pdur.Seconds()

	// 2. Consume.
	cons, err := openWorkers(ctx, drv, cfg.preloadP, cfg.consumers, roleConsumer)
	if err != nil {
		return err
	}
	defer closeAll(cons)
	cctx, ccancel := context.WithTimeout(ctx, cfg.timeout)
	defer ccancel()
	stop = startProgress(progress, fmt.Sprintf("[%s drain run %d]", cfg.adapter, r.Run), &cs)
	recs := make([]*recorder, len(cons))
	var acked atomic.Int64
	var doneAt atomic.Int64 // unix ns of the ack that reached n
	start := time.Now()
	for i, a := range cons {
		rec := &recorder{}
		recs[i] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cctx.Err() == nil && acked.Load() < n {
				t := time.Now()
				msgs, err := a.Receive(cctx, cfg.recvBatch)
				if err != nil {
					if cctx.Err() != nil {
						return
					}
					errs.add(fmt.Errorf("receive: %w", err))
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if len(msgs) == 0 {
					continue
				}
				cs.recv.Add(int64(len(msgs)))
				if err := a.Ack(cctx, msgs); err != nil {
					if cctx.Err() == nil {
						errs.add(fmt.Errorf("ack: %w", err))
					}
					continue
				}
				done := time.Now()
				rec.add(done.Sub(t))
				if acked.Add(int64(len(msgs))) >= n {
					doneAt.CompareAndSwap(0, done.UnixNano())
				}
			}
		}()
	}
	wg.Wait()
	stop()
	r.Errors, r.FirstErrors = errs.snapshot()
	r.setLatencies("receive+ack", merge(recs))
	r.Msgs = acked.Load()
	end := time.Now()
	if d := doneAt.Load(); d != 0 {
		end = time.Unix(0, d)
	}
	r.Seconds = end.Sub(start).Seconds()
	r.MsgsPerSec = float64(r.Msgs) / r.Seconds
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if r.Msgs < n {
		return fmt.Errorf("drain: only %d of %d messages acked within --timeout %v", r.Msgs, n, cfg.timeout)
	}
	return nil
}
