%% SPDX-License-Identifier: MIT
%% SPDX-FileCopyrightText: concbench authors
%%
%% The concbench workloads on the BEAM, in plain Erlang/OTP: one module,
%% one workload per run (erl -run concbench_beam main WORKLOAD k=v ...),
%% the C workload's parameters, window, invariant and metric names, and
%% the runner's line protocol on stdout (runner/child.c; peers/README.md).
%%
%% What is the BEAM's own here: processes (330 words at spawn on OTP 25,
%% 233 of them heap and stack: the Efficiency Guide, "Processes"),
%% send copying the message into the receiver's heap (binaries over 64
%% bytes are reference counted and shared), an unbounded mailbox per
%% process, selective receive, the reference trick (a receive that
%% matches a make_ref() made in the same function skips every message
%% queued before the ref: the compiler's recv_marker_reserve/bind/use,
%% OTP 24; see the Efficiency Guide, "Processes > Receiving messages", and
%% erlc +recv_opt_info), one scheduler thread per core (+S N:N, set by
%% the run script from --cpus) preempting every process after 4000
%% reductions, process aliases (OTP 24, alias/0), atomics, gen_tcp, and
%% OTP supervisors (one_for_one restarts only the child that died).
-module(concbench_beam).
-behaviour(supervisor).
-export([main/1, init/1, sup_worker_start/1]).
%% The result protocol's lines, shared with concbench_cluster's controller
%% (each writes to its caller's own process dictionary).
-export([emit/2, metric_int/2, metric_f64/2, fail/2, outcome/1, hist/2]).

-define(MASK, 16#FFFFFFFFFFFFFFFF).

%% ---- the program ----

workloads() ->
    [{"alts", fun alts/1},
     {"bank", fun bank/1},
     {"cpu-crunch", fun cpu_crunch/1},
     {"io-fanout", fun io_fanout/1},
     {"mailbox-flood", fun mailbox_flood/1},
     {"ping-pong", fun ping_pong/1},
     {"selective-receive", fun selective_receive/1},
     {"skynet", fun skynet/1},
     {"spawn", fun spawn_wl/1},
     {"supervision", fun supervision/1}].

main(["--workloads"]) ->
    [io:format("~s~n", [N]) || {N, _} <- workloads()],
    halt(0);
main([Name | Args]) ->
    case lists:keyfind(Name, 1, workloads()) of
        false -> usage("unknown workload ~s", [Name]);
        {_, Fun} ->
            P = maps:from_list([parse_kv(A) || A <- Args]),
            persistent_term:put(concbench_t0, erlang:convert_time_unit(
                erlang:system_info(start_time), native, nanosecond)),
            %% Reports (a supervisor's child_terminated) go to stderr:
            %% stdout is the protocol.
            ok = logger:remove_handler(default),
            ok = logger:add_handler(default, logger_std_h,
                                    #{config => #{type => standard_error}}),
            put(out, []),
            put(outcome, undefined),
            Fun(P),
            finish()
    end;
main([]) ->
    usage("usage: concbench_beam WORKLOAD key=value...", []).

parse_kv(A) ->
    case string:split(A, "=") of
        [K, V] when K =/= "" -> {K, V};
        _ -> usage("arguments are key=value, got ~p", [A])
    end.

usage(Fmt, Args) ->
    io:format(standard_error, "concbench-beam: " ++ Fmt ++ "~n", Args),
    halt(2).

int(P, K) ->
    case maps:find(K, P) of
        {ok, V} ->
            try list_to_integer(V)
            catch _:_ -> usage("parameter ~s=~s is not an integer", [K, V])
            end;
        error -> usage("missing parameter ~s", [K])
    end.

str(P, K, Def) -> maps:get(K, P, Def).

%% Nanoseconds since the VM started: positive, so 0 can mean "not yet"
%% (Erlang's monotonic time itself may be negative).
now_ns() ->
    erlang:monotonic_time(nanosecond) - persistent_term:get(concbench_t0).

emit(Fmt, Args) -> put(out, [io_lib:format(Fmt, Args) | get(out)]).
metric_int(N, V) -> emit("metric ~s int ~b~n", [N, V]).
metric_f64(N, V) -> emit("metric ~s f64 ~.15g~n", [N, float(V)]).
point(N, T, V) -> emit("point ~s ~b ~.15g~n", [N, T, float(V)]).

%% The window, from the VM's start (its own start-up time is not in it).
window(T0, T1) -> put(window, {T0, T1 - T0}).

fail(Fmt, Args) -> outcome("failed " ++ lists:flatten(io_lib:format(Fmt, Args))).
unsupported(Why) -> outcome("unsupported " ++ Why).
outcome(O) ->
    case get(outcome) of
        undefined -> put(outcome, O);
        _ -> ok
    end.

%% Nearest-rank percentiles over every sample (the counts are small).
hist(_, []) -> ok;
hist(Name, L) ->
    S = list_to_tuple(lists:sort(L)),
    N = tuple_size(S),
    Pct = fun(P) -> element(max(1, min(N, ceil(P / 100 * N))), S) end,
    emit("hist ~s ~b ~b ~b ~.15g ~b ~b ~b ~b~n",
         [Name, N, element(1, S), element(N, S), lists:sum(L) / N,
          Pct(50), Pct(90), Pct(99), Pct(99.9)]).

finish() ->
    Lines = lists:reverse(get(out)),
    Win = case get(window) of
              {Open, Len} when Len > 0 ->
                  [io_lib:format("metric elapsed_ns int ~b~nwindow ~b ~b~n",
                                 [Len, Open, Len])];
              _ -> []
          end,
    {Reds, _} = erlang:statistics(reductions),
    {GCs, _, _} = erlang:statistics(garbage_collection),
    Counters = io_lib:format("counter reductions ~b~ncounter gc_count ~b~n"
                             "counter schedulers ~b~n",
                             [Reds, GCs, erlang:system_info(schedulers_online)]),
    O = case get(outcome) of undefined -> "ok"; X -> X end,
    io:put_chars([Lines, Win, Counters, "outcome ",
                  string:replace(O, "\n", " ", all), "\n"]),
    halt(0).

rss_bytes() ->
    case file:open("/proc/self/statm", [read, raw, binary]) of
        {ok, F} ->
            {ok, B} = file:read(F, 256),
            file:close(F),
            [_, R | _] = binary:split(B, <<" ">>, [global]),
            binary_to_integer(R) * 4096;
        _ -> -1
    end.

payload_msg(I, 0) -> I;
payload_msg(I, N) -> binary:copy(<<(I band 255)>>, N).

same(I, 0, M) -> M =:= I;
same(I, N, M) -> is_binary(M) andalso byte_size(M) =:= N andalso
                     binary:last(M) =:= (I band 255).

%% ---- ping-pong: two processes, a message each way ----
%%
%% payload_kind=binary: a fresh message a round (a small integer, or an
%% N-byte binary, shared by reference above 64 bytes).  tuple and list:
%% one term of N small integers built once, {0, ..., N-1} or [0, ..., N-1],
%% bounced whole: every send copies it into the receiver's heap (all data
%% but refc binaries and literals is copied: the Efficiency Guide,
%% "Processes: Sending Messages"; erts/emulator/beam/copy.c size_object and
%% copy_struct), so the round trip grows with N.  message_heap_bytes is
%% erts_debug:flat_size of the message times the word size: the words one
%% copy takes on a heap.

ping_pong(P) ->
    Rounds = int(P, "rounds"), Payload = int(P, "payload"),
    Kind = str(P, "payload_kind", "binary"),
    Term = case Kind of
               "binary" -> none;
               "tuple" when Payload > 16#FFFFFF ->
                   usage("payload=~b: a tuple has at most 16777215 elements "
                         "(the BEAM's limit); use payload_kind=list for more",
                         [Payload]);
               "tuple" -> list_to_tuple(lists:seq(0, Payload - 1));
               "list" when Payload < 1 ->
                   usage("payload=0 with payload_kind=list is the empty list, "
                         "which is no message; give 1 or more cells", []);
               "list" -> lists:seq(0, Payload - 1);
               _ -> usage("payload_kind=~s: binary, tuple or list", [Kind])
           end,
    case str(P, "policy", "default") of
        Pol when Pol =:= "default"; Pol =:= "unbounded" ->
            Pong = spawn(fun pong/0),
            Pong ! {self(), warmup},
            receive warmup -> ok end,
            T0 = now_ns(),
            {Bad, Last} = ping(Pong, 0, Rounds, Payload, Term, 0, none),
            T1 = now_ns(),
            Pong ! stop,
            window(T0, T1),
            Bad > 0 andalso fail("~b replies differed from what was sent", [Bad]),
            %% The cheap per-round check looks at the shape; the whole
            %% term is compared once, outside the window.
            Term =:= none orelse Last =:= Term orelse
                fail("the last reply differs from the term sent", []),
            metric_int("ops", Rounds),
            metric_f64("round_trip_ns", (T1 - T0) / Rounds),
            Msg = case Term of none -> payload_msg(0, Payload); _ -> Term end,
            metric_int("message_heap_bytes",
                       erts_debug:flat_size(Msg) * erlang:system_info(wordsize));
        Pol ->
            unsupported("policy=" ++ Pol ++ ": a BEAM mailbox is unbounded; "
                        "it has no rendezvous or bounded buffer")
    end.

ping(_, R, R, _, _, Bad, Last) -> {Bad, Last};
ping(Pong, I, R, Payload, none, Bad, Last) ->
    Pong ! {self(), payload_msg(I, Payload)},
    receive M -> ping(Pong, I + 1, R, Payload, none,
                      Bad + case same(I, Payload, M) of true -> 0; false -> 1 end,
                      Last)
    end;
ping(Pong, I, R, Payload, Term, Bad, _) ->
    Pong ! {self(), Term},
    receive M -> ping(Pong, I + 1, R, Payload, Term,
                      Bad + case looks_right(Term, M) of true -> 0; false -> 1 end,
                      M)
    end.

looks_right(T, M) when is_tuple(T) ->
    is_tuple(M) andalso tuple_size(M) =:= tuple_size(T) andalso
        (tuple_size(T) =:= 0 orelse element(1, M) =:= 0);
looks_right(_, [0 | _]) -> true;
looks_right(_, _) -> false.

pong() ->
    receive
        {From, M} -> From ! M, pong();
        stop -> ok
    end.

%% ---- spawn: processes that report ready, then wait in a receive ----

spawn_wl(P) ->
    N = int(P, "tasks"),
    Me = self(),
    Rss0 = rss_bytes(),
    T0 = now_ns(),
    Pids = [spawn(fun() -> Me ! ready, receive stop -> ok end end)
            || _ <- lists:seq(1, N)],
    T1 = now_ns(),
    [receive ready -> ok end || _ <- Pids],
    T2 = now_ns(),
    Rss1 = rss_bytes(),
    [Pid ! stop || Pid <- Pids],
    window(T0, T2),
    metric_int("ops", N),
    metric_f64("spawn_ns_per_task", (T1 - T0) / N),
    metric_f64("ready_ns_per_task", (T2 - T0) / N),
    Rss0 > 0 andalso Rss1 > 0 andalso
        metric_f64("rss_per_task_bytes", (Rss1 - Rss0) / N).

%% ---- skynet: the classic Erlang version (atemerev/skynet, erlang/) ----

skynet(P) ->
    Leaves = int(P, "leaves"), Div = int(P, "div"),
    is_power(Leaves, Div) orelse
        usage("leaves=~b is not a power of div=~b", [Leaves, Div]),
    Tasks = tree_tasks(Leaves, Div, 0),
    Me = self(),
    T0 = now_ns(),
    spawn(fun() -> node(0, Leaves, Div, Me) end),
    Sum = receive {sum, S} -> S end,
    T1 = now_ns(),
    window(T0, T1),
    Want = Leaves * (Leaves - 1) div 2,
    Sum =:= Want orelse fail("sum ~b, expected ~b", [Sum, Want]),
    metric_int("ops", Tasks),
    metric_int("result", Sum),
    metric_f64("ns_per_task", (T1 - T0) / Tasks).

is_power(1, _) -> true;
is_power(L, D) when L rem D =:= 0 -> is_power(L div D, D);
is_power(_, _) -> false.

tree_tasks(1, _, Acc) -> Acc + 1;
tree_tasks(L, D, Acc) -> tree_tasks(L div D, D, Acc + L).

node(Num, 1, _, Parent) -> Parent ! {sum, Num};
node(Num, Size, Div, Parent) ->
    Me = self(),
    Step = Size div Div,
    [spawn(fun() -> node(Num + I * Step, Step, Div, Me) end)
     || I <- lists:seq(0, Div - 1)],
    Parent ! {sum, gather(Div, 0)}.

gather(0, Sum) -> Sum;
gather(N, Sum) -> receive {sum, S} -> gather(N - 1, Sum + S) end.

%% ---- alts: the BEAM has no channels and no alts; its idiom for "take
%% the first message from any of N sources" is a receive on the one
%% mailbox, each source addressing the receiver through an alias of its
%% own (OTP 24's process aliases, which the actor model's select stands
%% for). So each putter sends {Alias, <<"hi">>} to its alias, and the
%% root receives N times, matching any alias. ----

alts(P) ->
    N = int(P, "channels"), Rounds = int(P, "rounds"),
    case str(P, "port", "rendezvous") of
        Port when Port =:= "default"; Port =:= "rendezvous";
                  Port =:= "unbounded"; Port =:= "fixed" ->
            TW = now_ns(),
            Results = [alts_round(N) || _ <- lists:seq(1, Rounds)],
            window(TW, now_ns()),
            case [R || R <- Results, is_tuple(R) andalso element(1, R) =:= error] of
                [{error, Why} | _] -> fail("~s", [Why]);
                [] ->
                    {Ds, Ss} = lists:unzip(Results),
                    Best = lists:min(Ds),
                    metric_int("ops", N * Rounds),
                    metric_int("round_ns_first", hd(Ds)),
                    metric_int("round_ns_min", Best),
                    metric_f64("select_ns_per_msg", Best / N),
                    metric_f64("spawn_ns_per_task", lists:min(Ss) / N)
            end;
        Port ->
            unsupported("port=" ++ Port ++ ": a BEAM mailbox is unbounded; "
                        "it has no sliding or dropping buffer")
    end.

alts_round(N) ->
    Aliases = [alias() || _ <- lists:seq(1, N)],
    Index = maps:from_list(lists:zip(Aliases, lists:seq(1, N))),
    T0 = now_ns(),
    [spawn(fun() -> A ! {A, <<"hi">>} end) || A <- Aliases],
    Spawn = now_ns() - T0,
    R = alts_take(N, Index, #{}),
    D = now_ns() - T0,
    [unalias(A) || A <- Aliases],
    case R of
        ok -> {D, Spawn};
        Err -> Err
    end.

alts_take(0, _, _) -> ok;
alts_take(N, Index, Seen) ->
    receive
        {A, V} when is_map_key(A, Index) ->
            if V =/= <<"hi">> -> {error, "a receive returned something but \"hi\""};
               is_map_key(A, Seen) -> {error, "an alias delivered twice"};
               true -> alts_take(N - 1, Index, Seen#{A => true})
            end
    end.

%% ---- selective-receive: a request, and a receive that matches its ref
%% past a backlog of non-matching messages. trick=yes makes the ref with
%% make_ref() in the function that receives (the compiler then marks the
%% queue and the receive starts after the mark); trick=no gets the ref
%% from another function, so the receive scans the whole queue (both
%% checked with erlc +recv_opt_info: "OPTIMIZED: reference used to mark
%% a message queue position" is reported for call_trick/1 only). ----

%% The empty and loaded phases alternate in batches, as the C workload
%% does (workloads/selective_receive.c): each batch times its share of the
%% round trips with an empty queue, queues the backlog, times as many
%% behind it and drains it; the figures are medians over the batches and
%% the cost per skipped message the median of their paired differences,
%% 0 when not above zero (below this run's resolution).  One round trip
%% before the window starts the server.
-define(SR_BATCHES, 10).

selective_receive(P) ->
    Queued = int(P, "queued"), Reps = int(P, "reps"),
    Trick = str(P, "trick", "no") =:= "yes",
    Server = spawn(fun server/0),
    round_trips(Server, 1, Trick),
    Batches = min(Reps, ?SR_BATCHES),
    T0 = now_ns(),
    Pairs = [sr_batch(Server, Reps div Batches +
                          case B < Reps rem Batches of true -> 1; false -> 0 end,
                      Queued, Trick)
             || B <- lists:seq(0, Batches - 1)],
    T1 = now_ns(),
    window(T0, T1),
    Server ! stop,
    metric_int("ops", 2 * Reps),
    metric_f64("receive_ns_empty", median([E || {E, _, _} <- Pairs])),
    metric_f64("receive_ns_loaded", median([L || {_, L, _} <- Pairs])),
    Queued > 0 andalso
        begin
            Diffs = lists:sort([D || {_, _, D} <- Pairs]),
            metric_f64("ns_per_skipped_msg", max(median(Diffs), 0.0)),
            metric_f64("ns_per_skipped_msg_lo", max(hd(Diffs), 0.0)),
            metric_f64("ns_per_skipped_msg_hi", max(lists:last(Diffs), 0.0)),
            metric_int("skip_batches_positive",
                       length([D || D <- Diffs, D > 0]))
        end.

%% {empty ns, loaded ns per round trip, loaded - empty per skipped message}
sr_batch(Server, N, Queued, Trick) ->
    E = round_trips(Server, N, Trick) / N,
    [self() ! I || I <- lists:seq(0, Queued - 1)],
    L = round_trips(Server, N, Trick) / N,
    drain_in_order(0, Queued),
    {E, L, case Queued of 0 -> 0.0; _ -> (L - E) / Queued end}.

median(Xs) ->
    S = lists:sort(Xs), N = length(S),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, S);
        0 -> (lists:nth(N div 2, S) + lists:nth(N div 2 + 1, S)) / 2
    end.

round_trips(Server, Reps, Trick) ->
    T0 = now_ns(),
    loop(Reps, fun() ->
                       case Trick of
                           true -> call_trick(Server);
                           false -> call_plain(Server)
                       end
               end),
    now_ns() - T0.

loop(0, _) -> ok;
loop(N, F) -> F(), loop(N - 1, F).

call_trick(Server) ->
    Ref = make_ref(),
    Server ! {req, Ref, self()},
    receive {reply, Ref} -> ok end.

call_plain(Server) ->
    Ref = opaque_ref(),
    Server ! {req, Ref, self()},
    receive {reply, Ref} -> ok end.

%% Not inlined: the receive in call_plain cannot see where the ref came from.
opaque_ref() -> erlang:make_ref().

server() ->
    receive
        {req, Ref, From} -> From ! {reply, Ref}, server();
        stop -> ok
    end.

drain_in_order(Q, Q) -> ok;
drain_in_order(I, Q) ->
    receive
        I -> drain_in_order(I + 1, Q)
    after 0 ->
        fail("the backlog lost its order at message ~b", [I])
    end.

%% ---- cpu-crunch: hogs that never block (the reduction budget preempts
%% them every 4000 function calls) beside probes sleeping in receive-after
%% (millisecond timers: sleep_us is rounded up to whole ms).  The hogs mix
%% on 64 bits as the C workload does, which is bignum arithmetic on the
%% BEAM (small integers have 60 bits): a unit costs far more than in C,
%% so compare lateness and fairness across systems, not progress counts. ----

crunch(X, 0) -> X;
crunch(X, N) ->
    Y = (X * 6364136223846793005 + 1442695040888963407) band ?MASK,
    crunch(Y bxor (Y bsr 33), N - 1).

cpu_crunch(P) ->
    Hogs = int(P, "hogs"), Probes = int(P, "probes"),
    Duration = int(P, "duration_ms") * 1000000,
    SleepNs = int(P, "sleep_us") * 1000,
    Work = int(P, "work"),
    SleepNs > Duration andalso
        usage("sleep_us is longer than duration_ms: the probes would not "
              "measure anything", []),
    %% The opening time, published in one atomic word after every go
    %% message is out (as the C workload does, so release order does not
    %% count); 0 until then.
    Start = atomics:new(1, [{signed, true}]),
    Me = self(),
    HogPids = [spawn(fun() -> hog(Me, Start, Duration, Work, I) end)
               || I <- lists:seq(1, Hogs)],
    ProbePids = [spawn(fun() -> probe(Me, Start, Duration, SleepNs) end)
                 || _ <- lists:seq(1, Probes)],
    All = HogPids ++ ProbePids,
    [receive {ready, Pid} -> ok end || Pid <- All],
    [Pid ! go || Pid <- All],
    T0 = now_ns(),
    atomics:put(Start, 1, T0),
    Res = [receive {done, Pid, R} -> R end || Pid <- All],
    T1 = now_ns(),
    window(T0, T1),
    {HogRes, ProbeRes} = lists:split(Hogs, Res),
    Progress = [U || {hog, U} <- HogRes],
    Lateness = lists:append([L || {probe, L, _} <- ProbeRes]),
    Early = lists:sum([E || {probe, _, E} <- ProbeRes]),
    [fail("probe ~b never woke up", [I]) ||
        {I, {probe, [], _}} <- lists:zip(lists:seq(Hogs, Hogs + Probes - 1), ProbeRes)],
    Early > 0 andalso fail("~b probe wake-ups came before their deadline", [Early]),
    metric_int("ops", lists:sum(Progress)),
    hist("lateness_ns", Lateness),
    metric_f64("fairness_jain", jain(Progress)),
    metric_int("hog_progress_min", case Progress of [] -> 0; _ -> lists:min(Progress) end),
    metric_int("hog_progress_max", case Progress of [] -> 0; _ -> lists:max(Progress) end),
    metric_int("probe_wakeups", length(Lateness)).

jain([]) -> 1.0;
jain(L) ->
    Sum = lists:sum(L), Sq = lists:sum([X * X || X <- L]),
    case Sq of 0 -> 1.0; _ -> Sum * Sum / (length(L) * Sq) end.

hog(Coord, Start, Duration, Work, I) ->
    Coord ! {ready, self()},
    receive go -> ok end,
    hog_loop(Coord, Start, Duration, Work, I + 1, 0, -1).

%% The clock is read after every unit, not every 64 as in C: a unit here is
%% bignum arithmetic, ~17 us on the 2-core test machine (over 100x the C
%% unit), so 64 units are about one 4000-reduction slice, and a hog that
%% learnt of the opening only at its next 64-unit check lost up to a
%% slice of progress: Jain's index over 1,000 hogs read 0.003-0.68 from
%% that truncation alone.  atomics:get and monotonic_time cost well under
%% 1% of a unit.
hog_loop(Coord, Start, Duration, Work, X, Units, AtOpen) ->
    S = atomics:get(Start, 1),
    Now = now_ns(),
    AtOpen1 = if AtOpen < 0, S > 0, Now >= S -> Units; true -> AtOpen end,
    if S > 0, Now >= S + Duration ->
           Coord ! {done, self(), {hog, case AtOpen1 of -1 -> 0; _ -> Units - AtOpen1 end}};
       true ->
           hog_loop(Coord, Start, Duration, Work, crunch(X, Work), Units + 1,
                    AtOpen1)
    end.

probe(Coord, Start, Duration, SleepNs) ->
    Coord ! {ready, self()},
    receive go -> ok end,
    Ms = (SleepNs + 999999) div 1000000,
    probe_loop(Coord, Start, Duration, SleepNs, Ms, [], 0).

probe_loop(Coord, Start, Duration, SleepNs, Ms, Late, Early) ->
    S = atomics:get(Start, 1),
    Intended = now_ns() + SleepNs,
    End = case S of 0 -> infinity; _ -> S + Duration end,
    if is_integer(End), Intended > End, Late =/= [] ->
           Coord ! {done, self(), {probe, Late, Early}};
       true ->
           receive after Ms -> ok end,
           L = now_ns() - Intended,
           probe_loop(Coord, Start, Duration, SleepNs, Ms, [max(L, 0) | Late],
                      Early + case L < 0 of true -> 1; false -> 0 end)
    end.

%% ---- mailbox-flood: producers send to one slow consumer's unbounded
%% mailbox; nothing pushes back, so the queue and memory grow. ----

spin(Ns) -> spin_until(now_ns() + Ns).
spin_until(T) -> case now_ns() >= T of true -> ok; false -> spin_until(T) end.

mailbox_flood(P) ->
    Np = int(P, "producers"), Duration = int(P, "duration_ms") * 1000000,
    Consume = int(P, "consume_ns"), Payload = int(P, "payload"),
    SampleMs = int(P, "sample_ms"),
    case str(P, "policy", "default") of
        Pol when Pol =:= "default"; Pol =:= "unbounded" ->
            flood(Np, Duration, Consume, Payload, SampleMs);
        Pol ->
            unsupported("policy=" ++ Pol ++ ": a BEAM mailbox is unbounded; "
                        "there is no bounded, sliding or dropping one")
    end.

flood(Np, Duration, Consume, Payload, SampleMs) ->
    Me = self(),
    End = atomics:new(1, [{signed, true}]),
    Consumer = spawn(fun() -> consumer(Me, End, Consume, 0) end),
    Producers = [spawn(fun() -> receive go -> ok end,
                                producer(Me, Consumer, End, Payload, 0) end)
                 || _ <- lists:seq(1, Np)],
    Rss0 = rss_bytes(),
    T0 = now_ns(),
    atomics:put(End, 1, T0 + Duration),
    Sampler = spawn(fun() -> sampler(Me, Consumer, T0, SampleMs, [], 0) end),
    [Pid ! go || Pid <- Producers],
    Sent = lists:sum([receive {done, Pid, S} -> S end || Pid <- Producers]),
    T1 = now_ns(),
    Rss1 = rss_bytes(),
    {message_queue_len, Backlog} = erlang:process_info(Consumer, message_queue_len),
    Consumer ! close,
    Received = receive {consumed, R} -> R end,
    Sampler ! stop,
    {Points, Peak} = receive {samples, Ps, Pk} -> {Ps, Pk} end,
    window(T0, T1),
    [begin point("queue_len", T, L), point("rss_bytes", T, Rss) end
     || {T, L, Rss} <- lists:reverse(Points)],
    Received =:= Sent orelse
        fail("received ~b of ~b sent with 0 dropped", [Received, Sent]),
    metric_int("ops", Sent),
    metric_int("received", Received),
    metric_int("dropped", 0),
    metric_int("backlog_at_stop", Backlog),
    metric_int("peak_queue_len", max(Peak, Backlog)),
    Backlog > 0 andalso Rss1 > Rss0 andalso
        metric_f64("bytes_per_queued_msg", (Rss1 - Rss0) / Backlog).

producer(Coord, Consumer, End, Payload, N) when N band 63 =:= 0 ->
    case now_ns() >= atomics:get(End, 1) of
        true -> Coord ! {done, self(), N};
        false -> Consumer ! payload_msg(N, Payload),
                 producer(Coord, Consumer, End, Payload, N + 1)
    end;
producer(Coord, Consumer, End, Payload, N) ->
    Consumer ! payload_msg(N, Payload),
    producer(Coord, Consumer, End, Payload, N + 1).

consumer(Coord, End, Consume, N) ->
    receive
        close -> Coord ! {consumed, N};
        _ ->
            Consume > 0 andalso now_ns() < atomics:get(End, 1) andalso spin(Consume),
            consumer(Coord, End, Consume, N + 1)
    end.

sampler(Coord, Consumer, T0, Ms, Acc, Peak) ->
    receive
        stop -> Coord ! {samples, Acc, Peak}
    after Ms ->
        %% The consumer is gone once it has drained: nothing left to count.
        L = case erlang:process_info(Consumer, message_queue_len) of
                {message_queue_len, Len} -> Len;
                undefined -> 0
            end,
        sampler(Coord, Consumer, T0, Ms, [{now_ns() - T0, L, rss_bytes()} | Acc],
                max(L, Peak))
    end.

%% ---- bank: an account is a process; a transfer locks its two accounts
%% by messages in index order (no deadlock), an audit locks them all. ----

next_rand(X0) ->
    X1 = X0 bxor (X0 bsr 12),
    X2 = (X1 bxor (X1 bsl 25)) band ?MASK,
    X3 = X2 bxor (X2 bsr 27),
    {(X3 * 16#2545F4914F6CDD1D) band ?MASK, X3}.

mix(X0) ->
    X1 = (X0 + 16#9E3779B97F4A7C15) band ?MASK,
    X2 = ((X1 bxor (X1 bsr 30)) * 16#BF58476D1CE4E5B9) band ?MASK,
    X3 = ((X2 bxor (X2 bsr 27)) * 16#94D049BB133111EB) band ?MASK,
    X3 bxor (X3 bsr 31).

account(Balance) ->
    receive
        {lock, From} ->
            From ! {locked, self(), Balance},
            receive {unlock, New} -> account(New) end;
        {stop, From} -> From ! {final, self(), Balance}
    end.

%% One at a time, in the order given (index order): asking every account
%% at once would let two workers each hold one of the other's pair.
lock_all(Accts) ->
    [begin A ! {lock, self()}, receive {locked, A, B} -> B end end
     || A <- Accts].

bank(P) ->
    Na = int(P, "accounts"), N = int(P, "tasks"),
    Initial = int(P, "initial"), MaxAmount = int(P, "max_amount"),
    Ops = int(P, "ops"), AuditPer64k = int(P, "audit_pct") * 65536 div 100,
    Duration = int(P, "duration_ms") * 1000000, Seed = int(P, "seed"),
    Na >= 2 orelse usage("accounts=~b: a transfer needs two accounts", [Na]),
    Accts = list_to_tuple([spawn(fun() -> account(Initial) end)
                           || _ <- lists:seq(1, Na)]),
    Me = self(),
    %% Each worker's operation count, read by the watchdog (this process).
    Progress = atomics:new(max(1, N), []),
    Cfg = #{accts => Accts, na => Na, max => MaxAmount, ops => Ops,
            audit => AuditPer64k, total => Na * Initial, progress => Progress},
    Workers = [spawn(fun() ->
                             Rng = mix(Seed bxor (W + 1)) bor 1,
                             receive {go, End} -> ok end,
                             Me ! {done, self(),
                                   worker(Cfg#{end_ns => End, idx => W + 1},
                                          Rng, 0, {0, 0, 0, 0, 0}, [])}
                     end) || W <- lists:seq(0, N - 1)],
    T0 = now_ns(),
    [W ! {go, T0 + Duration} || W <- Workers],
    StallNs = int(P, "stall_ms") * 1000000,
    Watch = bank_watch(Workers, Progress, StallNs),
    T1 = now_ns(),
    window(T0, T1),
    case Watch of
        {stalled, Stuck} ->
            fail("deadlock: none of the ~b running workers (of ~b) made "
                 "progress for ~b ms", [Stuck, N, StallNs div 1000000]),
            metric_int("ops", 0),
            finish();
        _ -> ok
    end,
    {done, Done, {Longest, Starved}} = Watch,
    Res = [maps:get(W, Done) || W <- Workers],
    [A ! {stop, self()} || A <- tuple_to_list(Accts)],
    Final = [receive {final, A, B} -> B end || A <- tuple_to_list(Accts)],
    Sum = fun(I) -> lists:sum([element(I, R) || {R, _} <- Res]) end,
    Torn = Sum(4),
    [fail("torn audit: worker ~b saw a total of ~b, wanted ~b (~b torn audits)",
          [I, Bad, Na * Initial, T])
     || {I, {{_, _, _, T, Bad}, _}} <- lists:zip(lists:seq(0, N - 1), Res), T > 0],
    Total = lists:sum(Final),
    Negative = length([B || B <- Final, B < 0]),
    Lost = Na * Initial - Total,
    (Lost =:= 0 andalso Negative =:= 0) orelse
        fail("total after the run is ~b, wanted ~b: ~b units ~s; ~b accounts negative",
             [Total, Na * Initial, abs(Lost),
              case Lost < 0 of true -> "created"; false -> "lost" end, Negative]),
    Audits = Sum(3),
    metric_int("ops", Sum(1)),
    metric_int("transfers", Sum(1)),
    metric_int("declined", Sum(2)),
    metric_int("audits", Audits),
    metric_int("torn_audits", Torn),
    metric_int("lost_units", Lost),
    metric_int("longest_stall_ns", Longest),
    metric_int("starved_workers", Starved),
    metric_f64("audits_per_s", Audits * 1.0e9 / max(1, T1 - T0)),
    hist("audit_latency_ns", lists:append([L || {_, L} <- Res])).

%% The watchdog, as workloads/bank.c's: every 10 ms it samples each
%% running worker's operation count; one worker's longest gap between
%% samples that moved is longest_stall_ns, the workers that went stall_ms
%% without an operation are starved_workers (a fairness figure); no
%% running worker moving for stall_ms (and 10 samples) is a deadlock.
bank_watch(Workers, Progress, StallNs) ->
    Now = now_ns(),
    Idx = maps:from_list(lists:zip(Workers, lists:seq(1, length(Workers)))),
    Running = maps:from_list([{I, {0, Now, false}} || I <- maps:values(Idx)]),
    bank_watch(Idx, Progress, StallNs, Running, #{}, Now, 0, {0, 0}).

bank_watch(Idx, Progress, StallNs, Running, Done, AnySince, Quiet, Fig) ->
    case map_size(Running) of
        0 -> {done, Done, Fig};
        _ ->
            receive
                {done, W, R} ->
                    bank_watch(Idx, Progress, StallNs,
                               maps:remove(maps:get(W, Idx), Running),
                               Done#{W => R}, now_ns(), 0, Fig)
            after 10 ->
                Now = now_ns(),
                {Running1, Moved, Fig1} = maps:fold(
                    fun(I, {Last, Since, Starved}, {Acc, Mv, {Lg, St}}) ->
                            Gap = Now - Since,
                            NewStarved = Gap >= StallNs,
                            St1 = case NewStarved andalso not Starved of
                                      true -> St + 1; false -> St end,
                            Fig2 = {max(Lg, Gap), St1},
                            case atomics:get(Progress, I) of
                                Last -> {Acc#{I => {Last, Since, Starved orelse NewStarved}},
                                         Mv, Fig2};
                                Pr -> {Acc#{I => {Pr, Now, Starved orelse NewStarved}},
                                       true, Fig2}
                            end
                    end, {#{}, false, Fig}, Running),
                case Moved of
                    true -> bank_watch(Idx, Progress, StallNs, Running1, Done,
                                       Now, 0, Fig1);
                    false when Quiet + 1 >= 10, Now - AnySince >= StallNs ->
                        {stalled, map_size(Running1)};
                    false -> bank_watch(Idx, Progress, StallNs, Running1, Done,
                                        AnySince, Quiet + 1, Fig1)
                end
            end
    end.

worker(#{progress := Progress, idx := Idx} = C, Rng, Op, Acc, Lat) when Op > 0 ->
    atomics:put(Progress, Idx, Op),
    worker_op(C, Rng, Op, Acc, Lat);
worker(C, Rng, Op, Acc, Lat) ->
    worker_op(C, Rng, Op, Acc, Lat).

worker_op(#{ops := Ops, end_ns := End} = C, Rng, Op, Acc, Lat) ->
    Stop = case Ops of
               0 -> Op band 63 =:= 0 andalso now_ns() >= End;
               _ -> Op >= Ops
           end,
    case Stop of
        true -> {Acc, Lat};
        false ->
            {R, Rng1} = next_rand(Rng),
            #{accts := Accts, na := Na, audit := Audit, total := Total} = C,
            {Xfers, Declined, Audits, Torn, Bad} = Acc,
            case R band 16#ffff < Audit of
                true ->
                    T = now_ns(),
                    All = tuple_to_list(Accts),
                    Bs = lock_all(All),
                    [A ! {unlock, B} || {A, B} <- lists:zip(All, Bs)],
                    L = now_ns() - T,
                    S = lists:sum(Bs),
                    Acc1 = case S =:= Total of
                               true -> {Xfers, Declined, Audits + 1, Torn, Bad};
                               false when Torn =:= 0 -> {Xfers, Declined, Audits + 1, 1, S};
                               false -> {Xfers, Declined, Audits + 1, Torn + 1, Bad}
                           end,
                    worker(C, Rng1, Op + 1, Acc1, [L | Lat]);
                false ->
                    A = (R bsr 16) rem Na,
                    B = (A + 1 + (R bsr 40) rem (Na - 1)) rem Na,
                    {R2, Rng2} = next_rand(Rng1),
                    Amount = 1 + R2 rem maps:get(max, C),
                    {Lo, Hi} = {min(A, B), max(A, B)},
                    PLo = element(Lo + 1, Accts), PHi = element(Hi + 1, Accts),
                    [BLo, BHi] = lock_all([PLo, PHi]),
                    {From, To} = case A < B of true -> {BLo, BHi}; false -> {BHi, BLo} end,
                    {NewFrom, NewTo, D} = case From >= Amount of
                                              true -> {From - Amount, To + Amount, 0};
                                              false -> {From, To, 1}
                                          end,
                    {NLo, NHi} = case A < B of true -> {NewFrom, NewTo}; false -> {NewTo, NewFrom} end,
                    PLo ! {unlock, NLo},
                    PHi ! {unlock, NHi},
                    worker(C, Rng2, Op + 1, {Xfers + 1, Declined + D, Audits, Torn, Bad}, Lat)
            end
    end.

%% ---- io-fanout: a process per worker, each with a loopback TCP pair
%% (gen_tcp, passive); a process blocked in recv waits in the VM's poller
%% while its scheduler runs others. ----

io_fanout(P) ->
    N = int(P, "tasks"), Ops = int(P, "ops"), Payload = int(P, "payload"),
    LatencyUs = int(P, "latency_us"), Rate = int(P, "rate"),
    case str(P, "transport", "tcp") of
        "tcp" -> ok;
        T -> unsupported("transport=" ++ T ++ ": the real systems run loopback TCP only"),
             finish()
    end,
    Payload >= 8 orelse usage("payload=~b: a request carries its 8-byte id", [Payload]),
    Opts = [binary, {active, false}, {packet, raw}, {nodelay, true}],
    {ok, L} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}, {backlog, 1024} | Opts]),
    {ok, Port} = inet:port(L),
    Pairs = [begin
                 {ok, A} = gen_tcp:connect({127, 0, 0, 1}, Port, Opts),
                 {ok, B} = gen_tcp:accept(L),
                 {A, B}
             end || _ <- lists:seq(1, N)],
    gen_tcp:close(L),
    Me = self(),
    Rss0 = rss_bytes(),
    TS = now_ns(),
    Workers = [spawn(fun() -> receive {sockets, A, B} -> ok end,
                              Me ! {ready, self()},
                              io_worker(Me, A, B, Payload, LatencyUs, ok)
                     end) || _ <- Pairs],
    Spawn = now_ns() - TS,
    [begin
         ok = gen_tcp:controlling_process(A, W),
         ok = gen_tcp:controlling_process(B, W),
         W ! {sockets, A, B}
     end || {W, {A, B}} <- lists:zip(Workers, Pairs)],
    [receive {ready, W} -> ok end || W <- Workers],
    Rss1 = rss_bytes(),
    WT = list_to_tuple(Workers),
    Total = N * Ops,
    T0 = now_ns(),
    {Got, Dupes, Lat} =
        case Rate of
            0 -> [element(I + 1, WT) ! {req, I, now_ns()} || I <- lists:seq(0, N - 1)],
                 closed_loop(WT, N, Total, 0, #{}, 0, []);
            _ -> open_loop(WT, N, Total, T0, 1.0e9 / Rate, 0, 0, #{}, 0, [])
        end,
    T1 = now_ns(),
    window(T0, T1),
    [W ! {stop, self()} || W <- Workers],
    Errors = [receive {stopped, W, E} -> E end || W <- Workers],
    (Got =:= Total andalso Dupes =:= 0) orelse
        fail("~b replies for ~b requests (~b duplicates)", [Got, Total, Dupes]),
    case [{I, E} || {I, E} <- lists:zip(lists:seq(0, N - 1), Errors), E =/= ok] of
        [{I, E} | _] -> fail("worker ~b: IO round trip failed: ~p", [I, E]);
        [] -> ok
    end,
    metric_int("ops", Got),
    hist("latency_ns", Lat),
    metric_int("tasks", N),
    metric_f64("spawn_ns_per_task", Spawn / N),
    Rss0 > 0 andalso Rss1 > 0 andalso metric_f64("rss_per_task_bytes", (Rss1 - Rss0) / N).

take_reply(Id, T0, Total, Seen, Dupes, Lat) ->
    L = now_ns() - T0,
    case Id < 0 orelse Id >= Total orelse is_map_key(Id, Seen) of
        true -> {Seen, Dupes + 1, [L | Lat]};
        false -> {Seen#{Id => true}, Dupes, [L | Lat]}
    end.

closed_loop(_, _, Total, Got, _, Dupes, Lat) when Got =:= Total -> {Got, Dupes, Lat};
closed_loop(WT, N, Total, Got, Seen, Dupes, Lat) ->
    receive
        {reply, Id, T0} ->
            {Seen1, Dupes1, Lat1} = take_reply(Id, T0, Total, Seen, Dupes, Lat),
            Id + N < Total andalso
                (element((Id + N) rem N + 1, WT) ! {req, Id + N, now_ns()}),
            closed_loop(WT, N, Total, Got + 1, Seen1, Dupes1, Lat1)
    end.

open_loop(_, _, Total, _, _, _, Got, _, Dupes, Lat) when Got =:= Total -> {Got, Dupes, Lat};
open_loop(WT, N, Total, Start, Period, Next, Got, Seen, Dupes, Lat) ->
    Due = Start + round(Next * Period),
    Now = now_ns(),
    if Next < Total, Now >= Due ->
           element(Next rem N + 1, WT) ! {req, Next, Due},
           open_loop(WT, N, Total, Start, Period, Next + 1, Got, Seen, Dupes, Lat);
       true ->
           Wait = case Next < Total of
                      true -> max(0, (Due - Now) div 1000000);
                      false -> infinity
                  end,
           receive
               {reply, Id, T0} ->
                   {Seen1, Dupes1, Lat1} = take_reply(Id, T0, Total, Seen, Dupes, Lat),
                   open_loop(WT, N, Total, Start, Period, Next, Got + 1, Seen1, Dupes1, Lat1)
           after Wait ->
               open_loop(WT, N, Total, Start, Period, Next, Got, Seen, Dupes, Lat)
           end
    end.

io_worker(Coord, A, B, Payload, LatencyUs, Err) ->
    receive
        {req, Id, T0} ->
            Out = <<Id:64/little, (binary:copy(<<(Id band 16#7f)>>, Payload - 8))/binary>>,
            R = try
                    ok = gen_tcp:send(A, Out),
                    {ok, In} = gen_tcp:recv(B, Payload),
                    LatencyUs > 0 andalso timer:sleep((LatencyUs + 999) div 1000),
                    ok = gen_tcp:send(B, In),
                    {ok, Back} = gen_tcp:recv(A, Payload),
                    case Back =:= Out of true -> ok; false -> {error, mismatch} end
                catch C:E -> {C, E}
                end,
            Coord ! {reply, Id, T0},
            io_worker(Coord, A, B, Payload, LatencyUs,
                      case Err of ok -> R; _ -> Err end);
        {stop, From} ->
            gen_tcp:close(A), gen_tcp:close(B),
            From ! {stopped, self(), Err}
    end.

%% ---- supervision: workers that crash at random under a real OTP
%% supervisor (workloads/supervision.c's parameters and metrics).
%%
%% The workers are transient children of a supervisor (this module's
%% init/1: `strategy` one_for_one or one_for_all, `intensity` restarts in
%% `period_ms`; OTP Design Principles, "Supervisor Behaviour").  A worker
%% spins op_ns an operation, commits its count every `batch`, and after
%% each operation crashes with probability crash_ppm per million by
%% exit({crash, I}); the supervisor restarts it (one_for_all: with every
%% sibling) and the replacement carries on where the slot left off (its
%% random stream and counts live in an ETS table, as a real program keeps
%% state outside the process that may die).  Past the intensity the
%% supervisor terminates its children and exits with `shutdown`: the run
%% did not survive (supervisor_gave_up=1), which is a result, not a
%% failure.  restarts counts the children started again (incarnations
%% beyond the first); restart_latency_ns runs from a crash to the
%% replacement's first operation. ----

supervision(P) ->
    N = int(P, "workers"), Ppm = int(P, "crash_ppm"), OpNs = int(P, "op_ns"),
    Batch = int(P, "batch"), Duration = int(P, "duration_ms") * 1000000,
    Intensity = int(P, "intensity"), PeriodMs = int(P, "period_ms"),
    Seed = int(P, "seed"),
    Strategy = case str(P, "strategy", "one_for_one") of
                   "one_for_one" -> one_for_one;
                   "one_for_all" -> one_for_all;
                   S -> usage("strategy=~s: one_for_one or one_for_all", [S])
               end,
    N >= 1 orelse usage("workers=~b: at least one", [N]),
    Batch >= 1 orelse usage("batch=~b: at least one", [Batch]),
    %% Slot state: {I, Rng, Committed, unused, unused, Incarnations,
    %% CrashedAt, Finished}; crashes and the work they lost are counted
    %% from the crash messages.
    Tab = ets:new(slots, [public, set, {write_concurrency, true}]),
    [ets:insert(Tab, {I, mix(Seed + I) bor 1, 0, 0, 0, 0, 0, 0})
     || I <- lists:seq(0, N - 1)],
    Threshold = case Ppm >= 1000000 of
                    true -> ?MASK + 1;
                    false -> (Ppm * (1 bsl 64)) div 1000000
                end,
    T0 = now_ns(),
    End = T0 + Duration,
    Cfg = #{tab => Tab, coord => self(), end_ns => End, op_ns => OpNs,
            batch => Batch, threshold => Threshold},
    %% Trapping exits: a supervisor that gives up exits with `shutdown`
    %% through its link to this process, which must outlive it to report.
    process_flag(trap_exit, true),
    {ok, Sup} = supervisor:start_link(?MODULE, {Strategy, Intensity,
                                                (PeriodMs + 999) div 1000,
                                                N, Cfg}),
    {Done, CrashMsgs, Lats, SupDown} =
        sup_wait(Sup, N, #{}, [], [], false, End + 30000000000),
    T1 = now_ns(),
    window(T0, T1),
    SupDown orelse begin
                       exit(Sup, shutdown),
                       receive {'EXIT', Sup, _} -> ok after 5000 -> ok end
                   end,
    {CrashMsgs1, Lats1} = sup_drain(CrashMsgs, Lats),
    Slots = ets:tab2list(Tab),
    Sum = fun(K) -> lists:sum([element(K, S) || S <- Slots]) end,
    Crashes = length(CrashMsgs1), Alive = Sum(8),
    Restarts = Sum(6) - N,
    map_size(Done) < N andalso not SupDown andalso
        fail("~b workers neither finished nor crashed in time", [N - map_size(Done)]),
    metric_int("ops", Sum(3)),
    metric_int("crashes", Crashes),
    metric_int("restarts", Restarts),
    metric_int("work_lost", lists:sum(CrashMsgs1)),
    metric_int("workers_alive_at_end", Alive),
    metric_int("supervised", 1),
    metric_int("supervisor_gave_up", case SupDown of true -> 1; false -> 0 end),
    metric_int("survived", case Alive =:= N andalso not SupDown of
                               true -> 1; false -> 0 end),
    case Lats1 of
        [] -> emit("hist restart_latency_ns 0 0 0 0 0 0 0 0~n", []);
        _ -> hist("restart_latency_ns", Lats1)
    end.

%% Until every slot's last incarnation finished, or the supervisor gave up.
sup_wait(_, N, Done, C, L, false, _) when map_size(Done) =:= N -> {Done, C, L, false};
sup_wait(Sup, N, Done, C, L, false, Deadline) ->
    Left = max(0, (Deadline - now_ns()) div 1000000),
    receive
        {done, I} -> sup_wait(Sup, N, Done#{I => true}, C, L, false, Deadline);
        {crashed, _, Lost} -> sup_wait(Sup, N, Done, [Lost | C], L, false, Deadline);
        {restart_latency, Ns} -> sup_wait(Sup, N, Done, C, [Ns | L], false, Deadline);
        {'EXIT', Sup, _} -> {Done, C, L, true}
    after Left -> {Done, C, L, false}
    end.

sup_drain(C, L) ->
    receive
        {crashed, _, Lost} -> sup_drain([Lost | C], L);
        {restart_latency, Ns} -> sup_drain(C, [Ns | L]);
        {done, _} -> sup_drain(C, L)
    after 0 -> {C, L}
    end.

init({Strategy, Intensity, PeriodS, N, Cfg}) ->
    {ok, {#{strategy => Strategy, intensity => Intensity, period => max(1, PeriodS)},
          [#{id => I, start => {?MODULE, sup_worker_start, [{I, Cfg}]},
             restart => transient}
           || I <- lists:seq(0, N - 1)]}}.

sup_worker_start({I, Cfg}) ->
    {ok, spawn_link(fun() -> sup_worker(I, Cfg) end)}.

sup_worker(I, #{tab := Tab, coord := Coord} = Cfg) ->
    ets:update_counter(Tab, I, {6, 1}),
    ets:update_element(Tab, I, {8, 0}),
    [{I, Rng, _, _, _, _, CrashedAt, _}] = ets:lookup(Tab, I),
    sup_loop(I, Cfg, Rng, 0, CrashedAt),
    Coord ! {done, I}.

sup_loop(I, #{tab := Tab, coord := Coord, end_ns := End, op_ns := OpNs,
              batch := Batch, threshold := Threshold} = Cfg, Rng, Pending, CrashedAt) ->
    Now = now_ns(),
    case Now < End of
        false ->
            ets:update_counter(Tab, I, {3, Pending}),
            ets:update_element(Tab, I, [{2, Rng}, {8, 1}]);
        true ->
            CrashedAt > 0 andalso begin
                                      Coord ! {restart_latency, max(0, Now - CrashedAt)},
                                      ets:update_element(Tab, I, {7, 0})
                                  end,
            spin(OpNs),
            Pending1 = case Pending + 1 of
                           Batch -> ets:update_counter(Tab, I, {3, Batch}),
                                    ets:update_element(Tab, I, {2, Rng}),
                                    0;
                           Pn -> Pn
                       end,
            {R, Rng1} = next_rand(Rng),
            case R < Threshold of
                true ->
                    %% The crash is counted by its message, sent first: under
                    %% one_for_all a sibling's crash may kill this process
                    %% between any two steps here.
                    Coord ! {crashed, I, Pending1},
                    ets:update_element(Tab, I, [{2, Rng1}, {7, now_ns()}]),
                    exit({crash, I});
                false ->
                    sup_loop(I, Cfg, Rng1, Pending1, 0)
            end
    end.
