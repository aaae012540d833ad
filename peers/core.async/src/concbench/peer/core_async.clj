;; SPDX-License-Identifier: MIT
;; SPDX-FileCopyrightText: concbench authors
;;
;; The `core.async` real system: the concbench workloads as Clojure go
;; blocks and channels (Debian's clojure 1.11 and core.async 1.5.648), one
;; repetition per JVM.
;;
;;     java ... concbench.peer.core_async WORKLOAD key=value ...
;;
;; What core.async is, from its source (clojure/core/async.clj and impl/):
;; `go` rewrites its body into a state machine that parks at every <!, >!
;; and alts! that cannot complete; parked machines are continued on a fixed
;; pool of `clojure.core.async.pool-size` threads (impl/exec/threadpool.clj:
;; Executors/newFixedThreadPool, default 8, whatever the CPU count), fed by
;; one queue.  Nothing preempts a go block: one that computes without
;; parking keeps its pool thread.  `thread` runs a body on a real thread
;; (a cached pool) whose <!!, >!! and alts!! block it.  A channel is
;; unbuffered, or has a fixed, sliding or dropping buffer; there is no
;; unbounded buffer, and at most 1024 puts and 1024 takes may wait on one
;; channel (impl/protocols.clj MAX-QUEUE-SIZE: the next one throws).
;; `timeout` channels are closed by one daemon thread on the millisecond
;; wall clock, and requests within 10 ms of an existing timeout share its
;; channel (impl/timers.clj TIMEOUT_RESOLUTION_MS).  An exception that
;; escapes a go block closes the block's result channel and goes to the
;; pool thread's uncaught exception handler (impl/ioc_macros.clj
;; run-state-machine-wrapped): nobody who waits on the go block sees it.
;;
;; Each workload takes the C workload's parameters (workloads/<name>.c),
;; checks the same invariant, times the same window with System/nanoTime
;; inside the program (JVM start-up and Clojure's loading stay outside it:
;; the window's opening offset and the counter jvm_startup_ns), and prints
;; the runner's line protocol (runner/child.c) with the C metric names.
;; `pool=N` sets clojure.core.async.pool-size (default 8, as core.async);
;; it is read once, when the first go block is dispatched, so it is set
;; before anything else runs.  Exit status: 0 after an outcome line, 2 for
;; a bad parameter (reason on stderr).
(ns concbench.peer.core-async
  (:require [clojure.core.async :as a :refer [go go-loop chan <! >! <!! >!! alts!! close!]]
            [clojure.string :as str])
  (:import [java.util.concurrent.atomic AtomicLong]
           [java.util.concurrent.locks LockSupport]
           [java.util Arrays LinkedList]
           [java.nio ByteBuffer]
           [java.nio.channels ServerSocketChannel SocketChannel]
           [java.net InetAddress InetSocketAddress StandardSocketOptions StandardProtocolFamily
            UnixDomainSocketAddress]
           [java.nio.file Files]
           [java.nio.file.attribute FileAttribute]
           [java.lang.management ManagementFactory GarbageCollectorMXBean]
           [java.time Instant]
           [clojure.core.async.impl.channels ManyToManyChannel])
  (:gen-class))

(set! *warn-on-reflection* true)

;; ---- the report (the runner's child line protocol) ----

(def ^:private out (StringBuilder.))
(def ^:private outcome (atom nil)) ; [:failed why] or [:unsupported why]
(def ^:private ^"[J" window (long-array 2 -1)) ; start, stop (System/nanoTime)
(def ^:private ops (atom nil))

(defn- one-line [s] (str/replace (str s) #"[\r\n]" " "))
(defn- emit [& parts] (.append ^StringBuilder out ^String (str (str/join " " parts) "\n")))
(defn- metric-int [name v] (emit "metric" name "int" (long v)))
(defn- metric-f64 [name v] (emit "metric" name "f64" (Double/toString (double v))))
(defn- counter [name v] (emit "counter" name (long v)))
(defn- point [name t v] (emit "point" name (long t) (Double/toString (double v))))
(defn- fail! [why] (swap! outcome #(or % [:failed why])))
(defn- unsupported! [why] (reset! outcome [:unsupported why]))
(defn- failed? [] (= :failed (first @outcome)))
(defn- window-start! [] (aset window 0 (System/nanoTime)) (aget window 0))
(defn- window-stop! [] (aset window 1 (System/nanoTime)))
(defn- elapsed ^long [] (- (aget window 1) (aget window 0)))

(defn- percentile ^long [^longs sorted ^double p]
  (let [n (alength sorted)]
    (if (zero? n)
      0
      (let [exact (* (/ p 100.0) n)
            rank (long (Math/ceil (- exact (* 1e-9 (max 1.0 exact)))))
            rank (max 1 (min n rank))]
        (aget sorted (dec rank))))))

(defn- hist
  "Raw samples as the hist record: COUNT MIN MAX MEAN P50 P90 P99 P999,
  exact nearest-rank percentiles (the C histogram rounds up to its
  bucket's top, at most 1/128 above)."
  [name samples]
  (let [^longs s (long-array samples)
        _ (Arrays/sort s)
        n (alength s)]
    (emit "hist" name n (if (pos? n) (aget s 0) 0) (if (pos? n) (aget s (dec n)) 0)
          (Double/toString (if (pos? n) (/ (double (areduce s i acc 0.0 (+ acc (aget s i)))) n) 0.0))
          (percentile s 50.0) (percentile s 90.0) (percentile s 99.0) (percentile s 99.9))))

(defn- read-proc ^String [path]
  ;; A /proc file's size says 0: read it to its end.
  (with-open [in (java.io.FileInputStream. ^String path)]
    (String. (.readAllBytes in) "US-ASCII")))

(defn rss-bytes ^long []
  (try (* 4096 (Long/parseLong (second (str/split (str/trim (read-proc "/proc/self/statm")) #" "))))
       (catch Exception _ -1)))

(def ^:private epoch-base
  (let [i (Instant/now)] [(System/nanoTime) (+ (* (.getEpochSecond i) 1000000000) (.getNano i))]))

(defn- finish! []
  (let [[nano-base epoch] epoch-base
        t0 (let [t (Long/getLong "concbench.t0" -1)]
             (if (pos? t) t epoch))]
    (when @ops (metric-int "ops" @ops))
    (when (and (>= (aget window 0) 0) (>= (aget window 1) 0))
      (metric-int "elapsed_ns" (elapsed))
      (emit "window" (max 0 (- (+ epoch (- (aget window 0) nano-base)) t0)) (elapsed)))
    (counter "jvm_startup_ns" (max 0 (- epoch t0)))
    (let [gcs (ManagementFactory/getGarbageCollectorMXBeans)]
      (counter "gc_count" (reduce + (map #(max 0 (.getCollectionCount ^GarbageCollectorMXBean %)) gcs)))
      (counter "gc_ns" (* 1000000 (reduce + (map #(max 0 (.getCollectionTime ^GarbageCollectorMXBean %)) gcs)))))
    (counter "threads_peak" (.getPeakThreadCount (ManagementFactory/getThreadMXBean)))
    (let [[kind why] @outcome]
      (emit (case kind
              :unsupported (str "outcome unsupported " (one-line why))
              :failed (str "outcome failed " (one-line why))
              "outcome ok")))
    (print (str out))
    (flush)))

;; ---- parameters: the C workload's names, defaults and bounds ----

(def ^:private given (atom {}))

(defn- bad! [msg] (throw (ex-info msg {::bad true})))

(defn- int-param ^long [name dflt lo hi]
  (if-let [s (get @given name)]
    (let [v (if (re-matches #"-?[0-9]{1,19}" s)
              (try (Long/parseLong s) (catch NumberFormatException _ (bad! (str name "=" s ": out of range"))))
              (bad! (str name "=" s ": not a decimal integer")))]
      (when-not (<= lo v hi)
        (bad! (str name "=" s ": must be in " lo ".." hi)))
      v)
    dflt))

(defn- enum-param [name dflt choices]
  (let [s (get @given name dflt)]
    (when-not (some #{s} (str/split choices #"\|"))
      (bad! (str name "=" s ": must be one of " choices)))
    s))

(def ^:private policies "default|unbounded|fixed|sliding|dropping|rendezvous")

(defn- open-chan
  "A channel of the policy: default and fixed are a fixed buffer of
  capacity (core.async has no unbounded buffer: it is refused by design,
  so producers feel backpressure), sliding and dropping the windowed
  buffers, rendezvous the unbuffered (chan).  nil (with the reason set)
  for unbounded."
  [policy capacity]
  (case policy
    ("default" "fixed") (chan (a/buffer capacity))
    "sliding" (chan (a/sliding-buffer capacity))
    "dropping" (chan (a/dropping-buffer capacity))
    "rendezvous" (chan)
    (do (unsupported! "policy=unbounded: core.async has no unbounded buffer (refused by design: a channel's buffer is fixed, sliding or dropping)")
        nil)))

(defn mix ^long [^long x]
  ;; splitmix64, as cb_wl_mix
  (let [x (unchecked-add x -7046029254386353131)
        x (unchecked-multiply (bit-xor x (unsigned-bit-shift-right x 30)) -4658895280553007687)
        x (unchecked-multiply (bit-xor x (unsigned-bit-shift-right x 27)) -7723592293110705685)]
    (bit-xor x (unsigned-bit-shift-right x 31))))

(defn- gather
  "Takes n messages from ch on this (main) thread."
  [ch n]
  (dotimes [_ n] (<!! ch)))

;; ---- ping-pong ----

(defn- same-msg? [m ^long i ^long payload]
  (if (zero? payload)
    (and (instance? Long m) (== (long m) i))
    (and (bytes? m) (== (alength ^bytes m) payload) (== (aget ^bytes m 0) (unchecked-byte i)))))

(defn- message-heap-bytes
  "What one copy of the message occupies on the heap, from HotSpot's
  layout with compressed oops and class pointers (the default below 32 GB
  of heap; objects rounded up to 8 bytes): a boxed Long 16 (0..127 come
  from Long's cache: 0 bytes), a byte[] 16 + N; a vector: the
  PersistentVector (40), a leaf Node (24) and its 32-slot array (144) per
  32 elements, and the boxed Longs; a list: a PersistentList cell (40:
  header, meta, two hashes, first, rest, count) per element and the boxed
  Longs.  Computed, not measured: the JVM has no sizeof."
  ^long [kind ^long n]
  (let [boxed (* 16 (max 0 (- n 128)))]
    (case kind
      "binary" (if (zero? n) 16 (* 8 (quot (+ 16 n 7) 8)))
      "tuple" (+ 40 (* (quot (+ n 31) 32) (+ 24 144)) boxed)
      "list" (+ (* 40 n) boxed))))

(defn ping-pong
  "Two go blocks bounce a message over two channels (a fixed buffer of
  `capacity` by default; policy=rendezvous for unbuffered (chan)).  Each
  round trip is two puts and two takes, each a park and a dispatch of the
  other block's continuation onto the pool's queue when it was waiting.
  Beside round_trip_ns (window / rounds): first_round_ns (the first round,
  cold) and warm_round_trip_ns (the second half of the rounds).
  payload_kind=tuple bounces one vector of `payload` longs, list one list
  (cons cells), each built once: a channel holds references, so the very
  object comes back (checked) and the round trip stays flat as it grows;
  message_heap_bytes is that object's size (message-heap-bytes)."
  []
  (let [rounds (int-param "rounds" 1000000 1 1000000000)
        payload (int-param "payload" 0 0 16777216)
        policy (enum-param "policy" "default" policies)
        capacity (int-param "capacity" 1 1 1000000000)
        kind (enum-param "payload_kind" "binary" "binary|tuple|list")
        bounced (case kind
                  "binary" nil
                  "tuple" (vec (range payload))
                  "list" (if (pos? payload)
                           (apply list (range payload))
                           (bad! "payload=0 with payload_kind=list is the empty list, which is no message; give 1 or more cells")))
        in (open-chan policy capacity)
        out (open-chan policy capacity)]
    (when (and in out)
      ;; pong: until `in` is closed
      (go-loop [] (when-some [m (<! in)] (>! out m) (recur)))
      ;; one warm-up round, so pong is running and parked in its take
      (>!! in -1)
      (<!! out)
      (let [half (quot rounds 2)
            t0 (window-start!)
            [bad first-ns t-half]
            (<!! (go (loop [i 0 bad 0 first-ns 0 t-half 0]
                       (if (< i rounds)
                         (let [msg (cond bounced bounced
                                         (zero? payload) i
                                         :else (let [b (byte-array payload)] (aset b 0 (unchecked-byte i)) b))
                               _ (>! in msg)
                               m (<! out)
                               ok (if bounced (identical? m bounced) (same-msg? m i payload))
                               now (System/nanoTime)]
                           (recur (inc i) (if ok bad (inc bad))
                                  (if (zero? i) (- now t0) first-ns)
                                  (if (== (inc i) half) now t-half)))
                         [bad first-ns t-half]))))]
        (window-stop!)
        (close! in)
        (when (pos? bad) (fail! (str bad " replies differed from what was sent")))
        (reset! ops rounds)
        (metric-f64 "round_trip_ns" (/ (double (elapsed)) rounds))
        (metric-int "first_round_ns" first-ns)
        (metric-int "message_heap_bytes" (message-heap-bytes kind payload))
        (when (pos? half)
          (metric-f64 "warm_round_trip_ns" (/ (double (- (aget window 1) t-half)) (- rounds half))))))))

;; ---- spawn ----

(defn spawn
  "`tasks` go blocks, each reporting ready and parked in <! on its own
  channel: a parked go block is its state machine's array and the
  handler left in the channel's takes, no stack and no thread."
  []
  (let [n (int-param "tasks" 100000 1 100000000)
        coord (chan n)
        ports (object-array n)
        dones (object-array n)]
    (dotimes [i n] (aset ports i (chan 1)))
    (let [rss0 (rss-bytes)
          t0 (window-start!)]
      (dotimes [i n]
        (let [p (aget ports i)]
          (aset dones i (go (>! coord 1) (<! p)))))
      (let [t1 (System/nanoTime)]
        (gather coord n)
        (let [t2 (System/nanoTime)]
          (window-stop!)
          (let [rss1 (rss-bytes)]
            (dotimes [i n] (>!! (aget ports i) :stop))
            (dotimes [i n] (<!! (aget dones i)))
            (reset! ops n)
            (metric-f64 "spawn_ns_per_task" (/ (double (- t1 t0)) n))
            (metric-f64 "ready_ns_per_task" (/ (double (- t2 t0)) n))
            (when (and (pos? rss0) (pos? rss1))
              (metric-f64 "rss_per_task_bytes" (/ (double (- rss1 rss0)) n)))))))))

;; ---- skynet ----

(defn- skynet-node
  "A go block per node: a leaf puts its number; an inner node starts
  `div` children on its own channel and sums their replies."
  [c ^long num ^long size ^long div]
  (if (== size 1)
    (go (>! c num))
    (go (let [rc (chan div)
              step (quot size div)]
          (dotimes [i div] (skynet-node rc (+ num (* i step)) step div))
          (loop [i 0 sum 0]
            (if (< i div)
              (recur (inc i) (+ sum (long (<! rc))))
              (>! c sum)))))))

(defn- tree-tasks ^long [^long leaves ^long div]
  (loop [level leaves total 0]
    (if (== level 1) (inc total) (recur (quot level div) (+ total level)))))

(defn skynet []
  (let [leaves (int-param "leaves" 1000000 1 100000000)
        div (int-param "div" 10 2 1000)]
    (when-not (== 1 (loop [l leaves] (if (and (> l 1) (zero? (rem l div))) (recur (quot l div)) l)))
      (bad! (str "leaves=" leaves " is not a power of div=" div)))
    (let [top (chan 1)
          _ (window-start!)
          _ (skynet-node top 0 leaves div)
          sum (long (<!! top))
          _ (window-stop!)
          tasks (tree-tasks leaves div)
          expect (quot (* leaves (dec leaves)) 2)]
      (when (not= sum expect) (fail! (str "sum " sum ", expected " expect)))
      (reset! ops tasks)
      (metric-int "result" sum)
      (metric-f64 "ns_per_task" (/ (double (elapsed)) tasks)))))

;; ---- alts ----

(defn alts
  "The talk's example: a go block per channel puts \"hi\", the main thread
  takes every message with alts!! over all the channels.  The clock runs
  from the first go to the last message; `rounds` repeats the example in
  one JVM, so the first round is the cold one (the JIT has compiled
  nothing of alts yet) and the later ones warm."
  []
  (let [n (int-param "channels" 1000 1 100000)
        policy (enum-param "port" "rendezvous" policies)
        rounds (int-param "rounds" 1 1 10000)
        seen (boolean-array n)
        times (long-array rounds)
        spawn-times (long-array rounds)]
    (window-start!)
    (loop [r 0]
      (when (< r rounds)
        (let [cs (vec (repeatedly n #(open-chan policy 1)))]
          (when (every? some? cs)
            (let [index (java.util.IdentityHashMap.)]
              (dotimes [i n] (.put index (nth cs i) i))
              (Arrays/fill seen false)
              (let [t0 (System/nanoTime)]
                (doseq [c cs] (go (>! c "hi")))
                (aset spawn-times r (- (System/nanoTime) t0))
                (let [got (loop [got 0]
                            (if (< got n)
                              (let [[v c] (alts!! cs)
                                    k (.get index c)]
                                (cond
                                  (not= "hi" v) (do (fail! (str "select " got " returned " (pr-str v) " but \"hi\"")) got)
                                  (aget seen (int k)) (do (fail! (str "channel " k " delivered twice")) got)
                                  :else (do (aset seen (int k) true) (recur (inc got)))))
                              got))]
                  (aset times r (- (System/nanoTime) t0))
                  (when (< got n) (doseq [c cs] (close! c)))
                  (when-not (failed?) (recur (inc r))))))))))
    (window-stop!)
    (when-not @outcome
      (let [best (reduce min (seq times))
            warm (sort (rest (seq times)))]
        (reset! ops (* n rounds))
        (metric-int "round_ns_first" (aget times 0))
        (metric-int "round_ns_min" best)
        (metric-f64 "select_ns_per_msg" (/ (double best) n))
        (metric-f64 "spawn_ns_per_task" (/ (double (reduce min (seq spawn-times))) n))
        (when (seq warm)
          (metric-int "round_ns_warm_median" (nth warm (quot (count warm) 2))))))))

;; ---- cpu-crunch ----

(defn- crunch ^long [^long x ^long steps]
  (loop [i 0 x x]
    (if (< i steps)
      (let [x (unchecked-add (unchecked-multiply x 6364136223846793005) 1442695040888963407)]
        (recur (inc i) (bit-xor x (unsigned-bit-shift-right x 33))))
      x)))

(def ^:private ^AtomicLong crunch-start (AtomicLong. Long/MAX_VALUE))
(def ^:private crunch-sink (AtomicLong.))

(defn- hog-units
  "A hog's work, called from its go block: it never parks, so it keeps
  its pool thread until the window ends.  Units done after the window
  opened, as workloads/cpu_crunch.c counts them."
  ^long [^long idx ^long work ^long duration]
  (loop [x (inc idx) units 0 at-open -1]
    (if (zero? (bit-and units 63))
      (let [start (.get crunch-start)
            end (if (== start Long/MAX_VALUE) Long/MAX_VALUE (+ start duration))
            now (System/nanoTime)
            at-open (if (and (neg? at-open) (>= now start)) units at-open)]
        (if (>= now end)
          (do (.lazySet ^AtomicLong crunch-sink x)
              (if (neg? at-open) 0 (- units at-open)))
          (recur (crunch x work) (inc units) at-open)))
      (recur (crunch x work) (inc units) at-open))))

(defn- add-sample [^java.util.ArrayList l ^long v] (.add l v))

(defn cpu-crunch
  "Hogs and probes are go blocks on the fixed pool (pool-size, default 8).
  A probe sleeps with core.async's idiom, (<! (timeout ms)): sleep_us is
  rounded up to whole milliseconds (timeouts are in ms), and a timeout
  that closes before the intended time (the daemon's clock is
  currentTimeMillis, and requests within 10 ms share a channel) is waited
  on again up to the deadline, as a sleep would.  The timeout daemon
  closes the channel on time, but the probe's continuation then waits in
  the pool's queue behind hogs that never park: with more hogs than pool
  threads the probes starve until the hogs stop, and the lateness shows
  it."
  []
  (let [hogs (int-param "hogs" 4 0 1000000)
        probes (int-param "probes" 2 1 100000)
        duration (* 1000000 (int-param "duration_ms" 2000 10 3600000))
        sleep-ns (* 1000 (int-param "sleep_us" 1000 1 1000000))
        work (int-param "work" 25 1 1000000)
        sleep-ms (quot (+ sleep-ns 999999) 1000000)
        n (+ hogs probes)
        coord (chan (* 2 n))
        ports (object-array (repeatedly n #(chan 1)))
        progress (long-array n)
        lateness (object-array n)]
    (when (> sleep-ns duration)
      (bad! "sleep_us is longer than duration_ms: the probes would not measure anything"))
    ;; probes first, as the C workload spawns them
    (dotimes [k n]
      (let [i (rem (+ k hogs) n)
            port (aget ports i)]
        (if (>= i hogs)
          (go (>! coord i)
              (<! port)
              (let [samples (java.util.ArrayList.)
                    wakes (loop [wakes 0]
                            (let [start (.get crunch-start)
                                  end (if (== start Long/MAX_VALUE) Long/MAX_VALUE (+ start duration))
                                  intended (+ (System/nanoTime) sleep-ns)]
                              (if (and (> intended end) (pos? wakes))
                                wakes
                                (do (loop []
                                      (<! (a/timeout sleep-ms))
                                      (when (< (System/nanoTime) intended) (recur)))
                                    (add-sample samples (- (System/nanoTime) intended))
                                    (recur (inc wakes))))))]
                (aset progress i (long wakes))
                (aset lateness i samples))
              (>! coord i))
          (go (>! coord i)
              (<! port)
              (aset progress i (hog-units i work duration))
              (>! coord i)))))
    (gather coord n)
    (dotimes [k n] (>!! (aget ports (rem (+ k hogs) n)) :go))
    (.set crunch-start (window-start!))
    (gather coord n)
    (window-stop!)
    (let [hog-p (map #(aget progress %) (range hogs))
          total (reduce + hog-p)
          sq (reduce + (map #(* (double %) (double %)) hog-p))
          samples (mapcat #(seq (aget lateness %)) (range hogs n))]
      (doseq [i (range hogs n)]
        (when (zero? (aget progress i)) (fail! (str "probe " i " never woke up"))))
      (reset! ops total)
      (hist "lateness_ns" samples)
      (metric-f64 "fairness_jain" (if (and (pos? hogs) (pos? sq)) (/ (* (double total) total) (* hogs sq)) 1.0))
      (metric-int "hog_progress_min" (if (pos? hogs) (reduce min hog-p) 0))
      (metric-int "hog_progress_max" (reduce max 0 hog-p))
      (metric-int "probe_wakeups" (reduce + (map #(aget progress %) (range hogs n))))
      (counter "pool_size" (Long/getLong "clojure.core.async.pool-size" 8)))))

;; ---- mailbox-flood ----

(defn- queued
  "Values waiting in a channel: its buffer's count plus the puts parked
  on it (fields of ManyToManyChannel, read without its lock: a sample)."
  ^long [^ManyToManyChannel ch]
  (+ (if-let [b (.-buf ch)] (count b) 0) (.size ^LinkedList (.-puts ch))))

(defn mailbox-flood
  "Producer go blocks flood one consumer go block through one channel.
  With the default fixed buffer (capacity 1024) the producers park when it
  is full: backpressure, and memory stays flat.  At most 1024 puts may be
  parked on one channel: with more producers than that the next >! throws
  (\"No more than 1024 pending puts are allowed on a single channel\") and
  the run fails with it, as core.async does.  sliding and dropping never
  park a put, and >! returns true even for a value the buffer drops, so
  drops cannot be counted per put: dropped is sent - received, and the
  invariant holds by construction there.  unbounded is unsupported."
  []
  (let [np (int-param "producers" 4 1 100000)
        duration (* 1000000 (int-param "duration_ms" 1000 10 3600000))
        consume-ns (int-param "consume_ns" 1000 0 1000000000)
        payload (int-param "payload" 0 0 16777216)
        policy (enum-param "policy" "default" policies)
        capacity (int-param "capacity" 1024 1 1000000000)
        sample-ms (int-param "sample_ms" 10 1 60000)
        inbox (open-chan policy capacity)]
    (when inbox
      (let [coord (chan (* 2 (+ np 2)))
            go-ports (object-array (repeatedly (+ np 2) #(chan 1)))
            end (AtomicLong. Long/MAX_VALUE)
            sent (long-array np)
            errors (object-array np)
            received (AtomicLong.)
            samples (java.util.ArrayList.)
            peak (AtomicLong.)
            stop (chan)
            t0 (AtomicLong.)]
        ;; the consumer
        (go (>! coord :ready)
            (<! (aget go-ports np))
            (loop []
              (when (some? (<! inbox))
                (.incrementAndGet received)
                (when (and (pos? consume-ns) (< (System/nanoTime) (.get end)))
                  (let [until (+ (System/nanoTime) consume-ns)]
                    (while (< (System/nanoTime) until))))
                (recur)))
            (>! coord :consumer))
        ;; the sampler
        (go (>! coord :ready)
            (<! (aget go-ports (inc np)))
            (loop []
              (let [[_ c] (a/alts! [stop (a/timeout sample-ms)])]
                (when-not (= c stop)
                  (let [len (queued inbox)]
                    (when (> len (.get peak)) (.set peak len))
                    (locking samples
                      (.add samples [(- (System/nanoTime) (.get t0)) len (rss-bytes)])))
                  (recur))))
            (>! coord :sampler))
        (dotimes [i np]
          (go (>! coord :ready)
              (<! (aget go-ports i))
              (loop [s 0]
                (if (and (zero? (bit-and s 255)) (>= (System/nanoTime) (.get end)))
                  (aset ^longs sent (int i) (long s))
                  (let [ok (try (>! inbox (if (zero? payload) s (byte-array payload)))
                                (catch Throwable e (aset errors i e) false))]
                    (if ok (recur (inc s)) (aset ^longs sent (int i) (long s))))))
              (>! coord :producer)))
        (gather coord (+ np 2))
        (let [rss0 (rss-bytes)]
          (.set t0 (window-start!))
          (.set end (+ (.get t0) duration))
          ;; a go message each: one channel closed for all would leave
          ;; more than 1024 takes pending on it with many producers
          (doseq [p go-ports] (>!! p :go))
          (gather coord np)
          (window-stop!)
          (let [rss1 (rss-bytes)
                backlog (queued inbox)]
            (close! inbox)
            (gather coord 1)
            (close! stop)
            (gather coord 1)
            (let [s (reduce + (seq sent))
                  windowed (contains? #{"sliding" "dropping"} policy)
                  dropped (if windowed (- s (.get received)) 0)]
              (dotimes [i np]
                (when-let [e (aget errors i)]
                  (fail! (str "producer " i ": send failed: " e))))
              (when (not= (.get received) (- s dropped))
                (fail! (str "received " (.get received) " of " s " sent with " dropped " dropped")))
              (locking samples
                (doseq [[t len rss] samples]
                  (point "queue_len" t len)
                  (point "rss_bytes" t rss)))
              (reset! ops s)
              (metric-int "received" (.get received))
              (metric-int "dropped" dropped)
              (metric-int "backlog_at_stop" backlog)
              (metric-int "peak_queue_len" (.get peak))
              (when (and (pos? backlog) (> rss1 rss0))
                (metric-f64 "bytes_per_queued_msg" (/ (double (- rss1 rss0)) backlog))))))))))

;; ---- bank ----

(defn- next-rand ^long [^longs s]
  ;; xorshift64*, per worker, as workloads/bank.c
  (let [x (aget s 0)
        x (bit-xor x (unsigned-bit-shift-right x 12))
        x (bit-xor x (bit-shift-left x 25))
        x (bit-xor x (unsigned-bit-shift-right x 27))]
    (aset s 0 x)
    (unchecked-multiply x 2685821657736338717)))

(defn bank
  "Clojure refs and dosync (the STM; not an atom): a ref per account.  A
  transfer is one transaction that reads the source and alters both
  refs; an audit is a read-only transaction summing every ref, which sees
  one consistent snapshot (refs keep a history of committed values for
  readers; a reader that finds none old enough retries and grows it).
  Conflicting writers retry (commute is not used: the balance check reads
  the source).  Workers are core.async `thread`s (real threads: a
  transaction must not run in a go block, whose pool it would hold while
  retrying).  stm_retries counts transaction bodies run more than once.
  The main thread is the watchdog of workloads/bank.c."
  []
  (let [na (int-param "accounts" 8 2 10000000)
        nt (int-param "tasks" 2 1 100000)
        duration (* 1000000 (int-param "duration_ms" 3000 1 86400000))
        ops-per (int-param "ops" 0 0 (bit-shift-left 1 40))
        audit-pct (int-param "audit_pct" 5 0 100)
        initial (int-param "initial" 1000 0 (bit-shift-left 1 32))
        max-amount (int-param "max_amount" 100 1 (bit-shift-left 1 32))
        stall-ns (* 1000000 (int-param "stall_ms" 1000 10 3600000))
        seed (if-let [s (get @given "seed")]
               (try (Long/parseUnsignedLong s) (catch NumberFormatException _ (bad! (str "seed=" s ": not a decimal integer"))))
               1)]
    (when (and (pos? initial) (> na (quot (quot Long/MAX_VALUE 4) initial)))
      (bad! "accounts x initial overflows the total"))
    (let [total (* na initial)
          audit-per-64k (quot (* audit-pct 65536) 100)
          accts (object-array (repeatedly na #(ref initial)))
          progress (java.util.concurrent.atomic.AtomicLongArray. nt)
          done-flags (java.util.concurrent.atomic.AtomicLongArray. nt)
          results (object-array nt)
          attempts (AtomicLong.)
          commits (AtomicLong.)
          ready (java.util.concurrent.CountDownLatch. nt)
          go-latch (java.util.concurrent.CountDownLatch. 1)
          finished (java.util.concurrent.CountDownLatch. nt)
          end (AtomicLong. Long/MAX_VALUE)]
      (dotimes [idx nt]
        (a/thread
          (let [rng (long-array [(bit-or (mix (bit-xor seed (inc idx))) 1)])
                lat (java.util.ArrayList.)]
            (.countDown ready)
            (.await go-latch)
            (let [end-ns (.get end)
                  r (loop [op 0 transfers 0 declined 0 audits 0 torn 0 bad-sum 0]
                      (if (if (pos? ops-per) (>= op ops-per)
                              (and (zero? (bit-and op 63)) (>= (System/nanoTime) end-ns)))
                        {:transfers transfers :declined declined :audits audits :torn torn
                         :bad-sum bad-sum :lat lat}
                        (let [rnd (next-rand rng)]
                          (.lazySet progress idx (inc op))
                          (if (< (bit-and rnd 0xffff) audit-per-64k)
                            (let [t0 (System/nanoTime)
                                  sum (long (dosync (.incrementAndGet attempts)
                                                    (areduce accts i acc 0 (+ acc (long @(aget accts i))))))
                                  _ (.incrementAndGet commits)
                                  _ (.add lat (- (System/nanoTime) t0))
                                  ok (== sum total)]
                              (recur (inc op) transfers declined (inc audits)
                                     (if ok torn (inc torn)) (if (or ok (pos? torn)) bad-sum sum)))
                            (let [a (Long/remainderUnsigned (unsigned-bit-shift-right rnd 16) na)
                                  b (rem (+ a 1 (Long/remainderUnsigned (unsigned-bit-shift-right rnd 40) (dec na))) na)
                                  amount (inc (Long/remainderUnsigned (next-rand rng) max-amount))
                                  ^clojure.lang.Ref from (aget accts a)
                                  ^clojure.lang.Ref to (aget accts b)
                                  moved (dosync
                                          (.incrementAndGet attempts)
                                          (if (>= (long @from) amount)
                                            (do (alter from - amount) (alter to + amount) true)
                                            false))]
                              (.incrementAndGet commits)
                              (recur (inc op) (inc transfers) (if moved declined (inc declined))
                                     audits torn bad-sum))))))]
              (aset results idx r)
              (.set done-flags idx 1)
              (.countDown finished)))))
      (.await ready)
      (.set end (+ (window-start!) duration))
      (.countDown go-latch)
      ;; the watchdog of workloads/bank.c: every 10 ms each running
      ;; worker's progress; the longest gap and the starved workers are
      ;; figures, no running worker moving for stall_ms is a deadlock
      (let [last-p (long-array nt)
            since (long-array nt (System/nanoTime))
            starved (boolean-array nt)
            fig (long-array 2)
            stalled (loop [any-since (System/nanoTime) quiet 0]
                      (if (.await finished 10 java.util.concurrent.TimeUnit/MILLISECONDS)
                        nil
                        (let [now (System/nanoTime)
                              [moved running why]
                              (loop [i 0 moved false running 0 why []]
                                (if (< i nt)
                                  (if-not (zero? (.get done-flags i))
                                    (recur (inc i) moved running why)
                                    (let [p (.get progress i)
                                          gap (- now (aget since i))
                                          mv (not= p (aget last-p i))]
                                      (when (> gap (aget fig 0)) (aset fig 0 gap))
                                      (when (and (>= gap stall-ns) (not (aget starved i)))
                                        (aset starved i true)
                                        (aset fig 1 (inc (aget fig 1))))
                                      (when mv (aset last-p i p) (aset since i now))
                                      (recur (inc i) (or moved mv) (inc running)
                                             (if (< (count why) 8) (conj why (str i " (after " p " ops)")) why))))
                                  [moved running why]))]
                          (cond
                            moved (recur now 0)
                            (and (>= (inc quiet) 10) (>= (- now any-since) stall-ns) (pos? (long running)))
                            (str "deadlock: none of the " running " running workers (of " nt
                                 ") made progress for " (quot stall-ns 1000000) " ms: " (str/join ", " why))
                            :else (recur any-since (inc quiet))))))]
        (window-stop!)
        (if stalled
          (fail! stalled)
          (let [rs (seq results)
                sum-of #(reduce + (map % rs))
                transfers (sum-of :transfers)
                audits (sum-of :audits)
                el (elapsed)
                final (dosync (areduce accts i acc [0 0]
                                       (let [v (long @(aget accts i))]
                                         [(+ (first acc) v) (+ (second acc) (if (neg? v) 1 0))])))]
            (doseq [[i r] (map-indexed vector rs) :when (pos? (:torn r))]
              (fail! (str "torn audit: worker " i " saw a total of " (:bad-sum r) ", wanted " total
                          " (" (:torn r) " torn audits)")))
            (when (or (not= (first final) total) (pos? (second final)))
              (fail! (str "total after the run is " (first final) ", wanted " total ": "
                          (Math/abs (long (- total (first final)))) " units "
                          (if (> (first final) total) "created" "lost") "; "
                          (second final) " accounts negative")))
            (reset! ops transfers)
            (metric-int "transfers" transfers)
            (metric-int "declined" (sum-of :declined))
            (metric-int "audits" audits)
            (metric-int "torn_audits" (sum-of :torn))
            (metric-int "lost_units" (- total (first final)))
            (metric-int "longest_stall_ns" (aget fig 0))
            (metric-int "starved_workers" (aget fig 1))
            (metric-f64 "audits_per_s" (if (pos? el) (/ (* audits 1e9) el) 0.0))
            (let [lat (mapcat #(seq (:lat %)) rs)]
              (when (seq lat) (hist "audit_latency_ns" lat)))
            (counter "stm_retries" (- (.get attempts) (.get commits)))))))))

;; ---- io-fanout ----

(defn- read-fully [^SocketChannel c ^ByteBuffer b]
  (while (.hasRemaining b)
    (when (neg? (.read c b)) (throw (java.io.EOFException. "the peer closed")))))

(defn- write-fully [^SocketChannel c ^ByteBuffer b]
  (while (.hasRemaining b) (.write c b)))

(defn- round-trip [^SocketChannel client ^SocketChannel server id payload
                   latency-ns ^ByteBuffer out ^ByteBuffer in]
  (let [id (long id) payload (long payload) latency-ns (long latency-ns)]
  (.clear out)
  (dotimes [i payload] (.put out (int i) (unchecked-byte (bit-and id 0x7f))))
  (.putLong out 0 id)
  (.limit out (int payload))
  (write-fully client out)
  (.clear in)
  (read-fully server in)
  (when (pos? latency-ns)
    (let [until (+ (System/nanoTime) latency-ns)]
      (loop [] (let [now (System/nanoTime)] (when (< now until) (LockSupport/parkNanos (- until now)) (recur))))))
  (.flip in)
  (write-fully server in)
  (.clear in)
  (read-fully client in)
  (.rewind out)
  (.flip in)
  (when-not (.equals in out)
    (throw (java.io.IOException. "the echo differed from the request")))))

(defn io-fanout
  "A core.async `thread` per worker doing blocking socket IO (blocking IO
  in a go block would hold a pool thread: core.async's docs forbid it).
  Each worker owns a connected pair of blocking SocketChannels on
  127.0.0.1 (TCP_NODELAY; transport=unix: a UNIX-domain pair), takes
  requests from its own channel with <!! and answers on one channel that
  the main thread reads with <!! (closed loop) or alts!! with a timeout
  channel (open loop, rate=R: latency from each request's intended start;
  core.async's timeouts are in whole milliseconds, so requests may go out
  up to a millisecond late, and that shows in the latency)."
  []
  (let [n (int-param "tasks" 1000 1 1000000)
        ops-per (int-param "ops" 20 1 100000000)
        payload (int-param "payload" 64 8 65536)
        latency-ns (* 1000 (int-param "latency_us" 0 0 10000000))
        rate (int-param "rate" 0 0 100000000)
        transport (enum-param "transport" "tcp" "tcp|unix")
        total (* n ops-per)]
    (when (> total Integer/MAX_VALUE)
      (bad! (str "tasks x ops = " total " requests: more than this program's 2^31 - 1")))
    (let [dir (when (= transport "unix") (Files/createTempDirectory "concbench-io" (make-array FileAttribute 0)))
          ^ServerSocketChannel listener
          (if dir
            (doto (ServerSocketChannel/open StandardProtocolFamily/UNIX)
              (.bind (UnixDomainSocketAddress/of (.resolve ^java.nio.file.Path dir "s")) (int n)))
            (doto (ServerSocketChannel/open)
              (.bind (InetSocketAddress. (InetAddress/getLoopbackAddress) 0) (int n))))
          pairs (try
                  (vec (for [_ (range n)]
                         (let [c (SocketChannel/open (.getLocalAddress listener))
                               s (.accept listener)]
                           (when-not dir
                             (.setOption c StandardSocketOptions/TCP_NODELAY true)
                             (.setOption s StandardSocketOptions/TCP_NODELAY true))
                           [c s])))
                  (finally
                    (.close listener)
                    (when dir
                      (Files/deleteIfExists (.resolve ^java.nio.file.Path dir "s"))
                      (Files/deleteIfExists dir))))
          ;; room for every request a worker will get and every reply: in
          ;; the open loop the main thread must never block in a put while
          ;; the workers wait to hand it their replies
          replies (chan total)
          ready (chan n)
          ports (object-array (repeatedly n #(chan (inc ops-per))))
          errors (object-array n)
          rss0 (rss-bytes)
          t-spawn (System/nanoTime)
          dones (doall
                 (for [i (range n)]
                   (let [[^SocketChannel client ^SocketChannel server] (nth pairs i)
                         port (aget ports i)]
                     (a/thread
                       (let [out (ByteBuffer/allocate payload)
                             in (ByteBuffer/allocate payload)]
                         (>!! ready 1)
                         (loop []
                           (let [m (<!! port)]
                             (when (and (some? m) (not= m :stop))
                               (try (round-trip client server (first m) payload latency-ns out in)
                                    (catch java.io.IOException e
                                      (when-not (aget errors i) (aset errors i (str e)))))
                               (>!! replies m)
                               (recur)))))))))
          t-spawn (- (System/nanoTime) t-spawn)]
      (gather ready n)
      (let [rss1 (rss-bytes)
            answered (java.util.BitSet.)
            lat (java.util.ArrayList.)
            got (AtomicLong.)
            dupes (AtomicLong.)
            take-reply (fn [[id t0]]
                         (let [id (long id)]
                           (.add lat (- (System/nanoTime) (long t0)))
                           (.incrementAndGet got)
                           (if (or (neg? id) (>= id total) (.get answered (int id)))
                             (.incrementAndGet dupes)
                             (.set answered (int id)))))
            send-req (fn [id t] (>!! (aget ports (rem (long id) n)) [id t]))]
        (window-start!)
        (if (zero? rate)
          (do (dotimes [i n] (send-req i (System/nanoTime)))
              (while (< (.get got) total)
                (let [m (<!! replies)
                      nxt (+ (long (first m)) n)]
                  (take-reply m)
                  (when (< nxt total) (send-req nxt (System/nanoTime))))))
          (let [t0 (System/nanoTime)
                period (/ 1e9 rate)]
            (loop [nxt 0]
              (when (< (.get got) total)
                (let [now (System/nanoTime)
                      due (+ t0 (long (* nxt period)))]
                  (if (and (< nxt total) (>= now due))
                    (do (send-req nxt due) (recur (inc nxt)))
                    (let [m (if (< nxt total)
                              (first (alts!! [replies (a/timeout (quot (- due now) 1000000))]))
                              (<!! replies))]
                      (when m (take-reply m))
                      (recur nxt))))))))
        (window-stop!)
        (dotimes [i n] (>!! (aget ports i) :stop))
        (doseq [d dones] (<!! d))
        (doseq [[^SocketChannel c ^SocketChannel s] pairs] (.close c) (.close s))
        (when (or (not= (.get got) total) (pos? (.get dupes)))
          (fail! (str (.get got) " replies for " total " requests (" (.get dupes) " duplicates)")))
        (when-let [i (first (filter #(aget errors %) (range n)))]
          (fail! (str "worker " i ": IO round trip failed: " (aget errors i))))
        (reset! ops (.get got))
        (hist "latency_ns" (seq lat))
        (metric-int "tasks" n)
        (metric-f64 "spawn_ns_per_task" (/ (double t-spawn) n))
        (when (and (pos? rss0) (pos? rss1))
          (metric-f64 "rss_per_task_bytes" (/ (double (- rss1 rss0)) n)))))))

;; ---- supervision ----

(defn- spin-ns [^long ns]
  (let [end (+ (System/nanoTime) ns)]
    (while (< (System/nanoTime) end) (Thread/onSpinWait))))

(defn- sup-work
  "One worker, run inside its go block: operations of op-ns until end,
  committing every batch, crashing (throwing) with the given threshold.
  Its figures go to the slot arrays; `ended` hears of its end."
  [i seed end op-ns batch threshold
   ^longs committed ^longs lost ^longs crashes ^longs finished
   ^java.util.concurrent.LinkedBlockingQueue ended]
  (let [i (int i) end (long end) op-ns (long op-ns) batch (long batch)
        threshold (long threshold)
        rng (long-array [(bit-or (mix (unchecked-add (long seed) i)) 1)])]
    (loop [pending 0]
      (if (< (System/nanoTime) end)
        (do (spin-ns op-ns)
            (let [pending (inc pending)
                  pending (if (== pending batch)
                            (do (aset committed i (+ (aget committed i) pending)) 0)
                            pending)]
              (if (and (not (zero? threshold))
                       (neg? (Long/compareUnsigned (next-rand rng) threshold)))
                (do (aset lost i (+ (aget lost i) pending))
                    (aset crashes i (inc (aget crashes i)))
                    (.add ended i)
                    (throw (ex-info (str "{crash, " i "}") {:worker i})))
                (recur pending))))
        (do (aset committed i (+ (aget committed i) pending))
            (aset finished i 1)
            (.add ended i))))))

(defn supervision
  "workloads/supervision.c in go blocks, with nothing to restart them.
  `workers` go blocks do operations of op_ns (spun: a go block that
  computes keeps its pool thread) until duration_ms passes, committing
  every `batch`, and throw after an operation with probability crash_ppm
  per million (xorshift64*, seeded as the C workload).  The exception
  escapes the go block's state machine: core.async closes the block's
  result channel and rethrows on the pool thread (impl/ioc_macros.clj
  run-state-machine-wrapped), whose default uncaught exception handler
  prints \"Exception in thread ...\" and the trace, and that pool thread
  dies (the executor starts another).  Whoever waits on the go block sees
  its channel close with nil: the exception and the worker are lost, and
  nothing links or restarts it (supervised=0, restarts=0, as the C csp
  model reports).  A real program wraps the body in try/catch and puts
  the exception on a channel a supervising go-loop reads to start a
  replacement: a supervisor written by hand."
  []
  (let [n (int-param "workers" 8 1 4096)
        ppm (int-param "crash_ppm" 1000 0 1000000)
        op-ns (int-param "op_ns" 1000 0 1000000000)
        batch (int-param "batch" 100 1 1000000000)
        duration (* 1000000 (int-param "duration_ms" 1000 1 3600000))
        seed (if-let [s (get @given "seed")]
               (try (Long/parseUnsignedLong s) (catch NumberFormatException _ (bad! (str "seed=" s ": not a decimal integer"))))
               1)
        threshold (if (>= ppm 1000000)
                    -1
                    (.longValue (.divide (.multiply (biginteger ppm) (.shiftLeft BigInteger/ONE 64))
                                         (biginteger 1000000))))
        committed (long-array n) lost (long-array n) crashes (long-array n) finished (long-array n)
        ended (java.util.concurrent.LinkedBlockingQueue.)
        ;; The window opens once every go block runs: each counts down
        ;; `ready` and parks on `start` (parking frees its pool thread, so
        ;; any number of blocks wait on a pool of any size).  A deadline
        ;; taken before the blocks ran left them no operation at all on a
        ;; loaded machine, where the first go blocks took longer than a
        ;; 100 ms run to be scheduled.
        ready (java.util.concurrent.CountDownLatch. n)
        start (chan)
        end-at (volatile! 0)]
    (dotimes [i n]
      (go (.countDown ready)
          (<! start)
          (sup-work i seed @end-at op-ns batch threshold committed lost crashes finished ended)))
    (.await ready)
    (let [end (+ (window-start!) duration)
          _ (vreset! end-at end)
          _ (close! start)
          deadline (+ end 30000000000)
          open (loop [open n]
                 (if (and (pos? open)
                          (.poll ended (max 0 (- deadline (System/nanoTime)))
                                 java.util.concurrent.TimeUnit/NANOSECONDS))
                   (recur (dec open))
                   open))]
      (window-stop!)
      (if (pos? (long open))
        (fail! (str open " workers neither finished nor crashed in time"))
        (let [total #(reduce + (seq ^longs %))
              alive (total finished)
              crashed (total crashes)]
          (when (not= (+ alive crashed) n)
            (fail! (str crashed " crashed and " alive " finished of " n " workers")))
          (reset! ops (total committed))
          (metric-int "crashes" crashed)
          (metric-int "restarts" 0)
          (metric-int "work_lost" (total lost))
          (metric-int "workers_alive_at_end" alive)
          (metric-int "supervised" 0)
          (metric-int "supervisor_gave_up" 0)
          (metric-int "survived" (if (== alive n) 1 0))
          (emit "hist restart_latency_ns 0 0 0 0 0 0 0 0"))))))

;; ---- main ----

(def ^:private workloads
  {"ping-pong" ping-pong
   "spawn" spawn
   "skynet" skynet
   "alts" alts
   "selective-receive" #(unsupported! "selective-receive: a channel has no receive by pattern (<! takes the next value; there is no mailbox to scan)")
   "cpu-crunch" cpu-crunch
   "mailbox-flood" mailbox-flood
   "bank" bank
   "io-fanout" io-fanout
   "supervision" supervision})

(defn -main [& args]
  (let [[wl & kvs] args
        f (get workloads wl)]
    (when-not f
      (binding [*out* *err*]
        (println "core.async: usage: WORKLOAD key=value ...; workloads:" (str/join " " (sort (keys workloads)))))
      (System/exit 2))
    (try
      (doseq [kv kvs]
        (let [eq (str/index-of kv "=")]
          (when-not (and eq (pos? eq)) (bad! (str "'" kv "' is not key=value")))
          (swap! given assoc (subs kv 0 eq) (subs kv (inc eq)))))
      ;; read once by core.async, when its pool is first used: set it first
      (System/setProperty "clojure.core.async.pool-size" (str (int-param "pool" 8 1 1024)))
      (f)
      (finish!)
      (System/exit 0)
      (catch Throwable t
        (if (::bad (ex-data t))
          (do (binding [*out* *err*] (println (str "core.async: " wl ": " (ex-message t))))
              (System/exit 2))
          (do (println (str "outcome error " (one-line t)))
              (flush)
              (.printStackTrace t)
              (System/exit 0)))))))
