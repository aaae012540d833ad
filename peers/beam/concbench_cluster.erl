%% SPDX-License-Identifier: MIT
%% SPDX-FileCopyrightText: concbench authors
%%
%% The cluster workload on real Erlang distribution: N BEAM nodes on
%% loopback, discovery from a host list, W singleton workers in `global`,
%% a request stream by name, SIGKILL of one node, handoff of its workers
%% to survivors, a late join, then several nodes joining at once.
%%
%% This program is the controller (the VM the run script execs, the pid
%% the runner watches).  It is not a member of the cluster: it starts the
%% nodes with OTP's `peer` module (stdlib, OTP 25) over a standard-I/O
%% control connection, so it never joins their distribution, and drives
%% them with peer:call.  The members only ever meet through distribution.
%%
%% What is OTP's own (sources: the kernel and stdlib reference manuals,
%% erlang.org/doc/man/{peer,global,net_kernel}.html):
%%   - peer: "A peer node automatically terminates when it loses the
%%     control connection to the origin."  With standard_io the control
%%     connection is the node's stdin: when the controller dies for any
%%     reason (the runner's SIGKILL on timeout included) every node reads
%%     EOF and halts.  That is the invariant "no node outlives the run";
%%     the controller also stops each node itself on the way out.
%%   - Discovery: libcluster's Epmd strategy is net_kernel:connect_node/1
%%     over a configured host list; this does the same (hosts=127.0.0.1,
%%     names from epmd).  Connections are transitive (global's default
%%     connect_all): one reachable member is enough to join.
%%   - global: a cluster-wide name table replicated on every node,
%%     register_name/2 takes a cluster-wide lock, so two registrations of
%%     one name cannot both succeed while the nodes are connected;
%%     whereis_name/1 reads the local replica (an ETS lookup, no message).
%%     When a node goes down every node removes its names.  When two
%%     parts that registered the same name meet, global calls the name's
%%     resolve function; the default, random_exit_name/3, keeps one at
%%     random and kills the other.
%%   - net_kernel:monitor_nodes(true): nodeup/nodedown messages.  A node
%%     killed on one machine closes its sockets at once, so nodedown is
%%     immediate here; across a network a silent host is only noticed
%%     after net_ticktime (60 s by default, up to 25% more).
%%
%% What is this program's (Swarm's and horde's job, which OTP lacks): a
%% keeper per node that, on nodedown, restarts the names nobody holds on
%% the survivor that rendezvous hashing elects among the members it sees
%% (highest erlang:phash2({Name, Node})), so only the lost names move.
%% Two survivors with different views may both try; global's lock lets
%% one win and the loser's worker exits.  The handoff's choice is
%% concbench_handoff:restart_on/2 (owner/2's rendezvous hash, in a module
%% of its own so that lab 7 can run the cluster with a student's choice
%% in its place: the lab copies this folder with the student's module
%% and points CONCBENCH_PEERS at the copy); the first placement stays
%% owner/2 here, so a wrong handoff cannot stop the cluster forming.
%% No state is handed over: a restarted worker starts empty, as Swarm's
%% {:swarm, :begin_handoff} answered with :restart.
%%
%% Times that cross nodes (kill -> registered again) are os:system_time
%% readings, one clock on one machine; across machines they need synced
%% clocks.
-module(concbench_cluster).
-export([main/1]).
%% Run on the members through peer:call.
-export([node_join/1, node_view/0, keeper_start/2, keeper_events/0,
         keeper_live/0,
         lookups/2, client_start/3, client_report/0,
         worker/2]).

-import(concbench_beam,
        [emit/2, metric_int/2, metric_f64/2, fail/2, outcome/1, hist/2]).

-define(COOKIE, "concbench_cluster").
-define(KEEPER, cb_cluster_keeper).
-define(CLIENT, cb_cluster_client).

main(Args) ->
    P = maps:from_list([parse_kv(A) || A <- Args]),
    ok = logger:remove_handler(default),
    ok = logger:add_handler(default, logger_std_h,
                            #{config => #{type => standard_error}}),
    put(out, []),
    put(outcome, undefined),
    put(peers, []),
    try run(P)
    catch C:E:St ->
        outcome(lists:flatten(io_lib:format("error ~p:~0p at ~0p",
                                            [C, E, hd(St ++ [none])])))
    after
        stop_all()
    end,
    finish().

parse_kv(A) ->
    case string:split(A, "=") of
        [K, V] when K =/= "" -> {K, V};
        _ -> usage("arguments are key=value, got ~p", [A])
    end.

usage(Fmt, Args) ->
    io:format(standard_error, "concbench-cluster: " ++ Fmt ++ "~n", Args),
    halt(2).

int(P, K, Min) ->
    V = try list_to_integer(maps:get(K, P))
        catch _:_ -> usage("parameter ~s missing or not an integer", [K])
        end,
    V >= Min orelse usage("~s=~b: at least ~b", [K, V, Min]),
    V.

finish() ->
    Lines = lists:reverse(get(out)),
    Win = case get(window) of
              {Open, Len} when Len > 0 ->
                  io_lib:format("metric elapsed_ns int ~b~nwindow ~b ~b~n",
                                [Len, Open, Len]);
              _ -> []
          end,
    O = case get(outcome) of undefined -> "ok"; X -> X end,
    io:put_chars([Lines, Win, "outcome ",
                  string:replace(O, "\n", " ", all), "\n"]),
    halt(0).

now_ns() -> erlang:monotonic_time(nanosecond).
sys_ns() -> os:system_time(nanosecond).
vm_ns() ->
    now_ns() - erlang:convert_time_unit(erlang:system_info(start_time),
                                        native, nanosecond).

%% ---- nodes ----

%% Start K members in parallel; [{Index, PeerPid, Node, OsPid}].
boot(Indices) ->
    Dir = filename:dirname(code:which(?MODULE)),
    Tag = os:getpid(),
    Self = self(),
    [spawn(fun() ->
         Name = lists:flatten(io_lib:format("cbcl~s_~b", [Tag, I])),
         R = peer:start(#{name => Name, host => "127.0.0.1",
                          longnames => true, connection => standard_io,
                          wait_boot => 60000,
                          args => ["-setcookie", ?COOKIE, "-pa", Dir,
                                   "+S", "1:1", "-kernel",
                                   "inet_dist_use_interface",
                                   "{127,0,0,1}"]}),
         Self ! {booted, I, R}
     end) || I <- Indices],
    lists:map(fun(I) ->
        receive
            {booted, I, {ok, Pid, Node}} ->
                OsPid = peer:call(Pid, os, getpid, []),
                put(peers, [Pid | get(peers)]),
                {I, Pid, Node, OsPid};
            {booted, I, Err} ->
                error({node_start_failed, I, Err})
        after 90000 -> error({node_start_timeout, I})
        end
    end, Indices).

stop_all() ->
    [catch peer:stop(P) || P <- get(peers)],
    ok.

call(Pid, F, A) -> peer:call(Pid, ?MODULE, F, A, 30000).

%% peer:call on each member at once; results in order.
pcall(Members, F, A) ->
    Self = self(),
    Refs = [begin
                R = make_ref(),
                spawn(fun() -> Self ! {R, catch call(Pid, F, A)} end),
                R
            end || {_, Pid, _, _} <- Members],
    [receive {R, V} -> V end || R <- Refs].

%% On a member: connect to every node of the host list (libcluster's
%% Epmd strategy), then wait until global agrees with all of them.
node_join(Nodes) ->
    _ = [net_kernel:connect_node(N) || N <- Nodes, N =/= node()],
    global:sync(),
    length(nodes()).

%% On a member: what it sees (members, names and where they point).
node_view() ->
    Names = lists:sort([N || {cbw, _} = N <- global:registered_names()]),
    {lists:sort([node() | nodes()]),
     [{N, global:whereis_name(N)} || N <- Names],
     keeper_live()}.

%% ---- the keeper and the workers (on every member) ----

keeper_start(W, Eager) ->
    Self = self(),
    Pid = spawn(fun() ->
        register(?KEEPER, self()),
        ok = net_kernel:monitor_nodes(true),
        Self ! ready,
        keeper(W, #{}, [])
    end),
    receive ready -> ok end,
    Eager andalso (Pid ! {ensure, all}),
    ok.

%% The names this node should hold among Members: rendezvous hashing.
owner(I, Members) ->
    {_, Best} = lists:max([{erlang:phash2({I, N}), N} || N <- Members]),
    Best.

keeper(W, Live, Events) ->
    receive
        {ensure, Scope} ->
            Members = lists:sort([node() | nodes()]),
            Mine = [I || I <- lists:seq(1, W),
                         Scope =:= all orelse owner(I, Members) =:= node(),
                         not maps:is_key(I, Live),
                         not held(I)],
            [spawn(?MODULE, worker, [I, self()]) || I <- Mine],
            keeper(W, Live, Events);
        {nodedown, _} ->
            %% global may not have dropped the dead node's names yet
            %% (it takes 100 ms or more on a loaded machine): look again
            %% every 5 ms until no name is orphaned, for up to 60 s.
            handoff(self(), 12000),
            keeper(W, Live, Events);
        {handoff, 0} -> keeper(W, Live, Events);
        {handoff, Left} ->
            Members = lists:sort([node() | nodes()]),
            Orphans = [I || I <- lists:seq(1, W), not held(I)],
            Mine = [I || I <- Orphans,
                         concbench_handoff:restart_on(I, Members)
                             =:= node(),
                         not maps:is_key(I, Live)],
            [spawn(?MODULE, worker, [I, self()]) || I <- Mine],
            Orphans =/= [] andalso handoff(self(), Left - 1),
            keeper(W, Live, Events);
        {registered, I, Pid, T} ->
            monitor(process, Pid),
            keeper(W, Live#{I => Pid}, [{I, T} | Events]);
        {'DOWN', _, process, Pid, _} ->
            keeper(W, maps:filter(fun(_, P) -> P =/= Pid end, Live), Events);
        {live, From} ->
            From ! {live, maps:to_list(Live)},
            keeper(W, Live, Events);
        {events, From} ->
            From ! {events, Events},
            keeper(W, Live, Events);
        _ -> keeper(W, Live, Events)
    end.

handoff(K, Left) -> erlang:send_after(5, K, {handoff, Left}).

%% Held: registered to a process on a node this node still sees.
held(I) ->
    case global:whereis_name({cbw, I}) of
        undefined -> false;
        Pid -> lists:member(node(Pid), [node() | nodes()])
    end.

keeper_live() ->
    ?KEEPER ! {live, self()},
    receive {live, L} -> L after 5000 -> [] end.

keeper_events() ->
    ?KEEPER ! {events, self()},
    receive {events, E} -> E after 5000 -> [] end.

%% A singleton: it exists only if global let it take its name.
worker(I, Keeper) ->
    case global:register_name({cbw, I}, self()) of
        yes ->
            Keeper ! {registered, I, self(), sys_ns()},
            serve(I);
        no -> ok
    end.

serve(I) ->
    receive
        {req, From, Ref} -> From ! {rep, Ref, I}, serve(I);
        _ -> serve(I)
    end.

%% ---- load ----

%% On a member: whereis_name in a loop for Ms milliseconds; lookups done.
lookups(W, Ms) ->
    End = now_ns() + Ms * 1000000,
    lookup_loop(W, End, 0, 0).
lookup_loop(W, End, K, N) ->
    case K rem 256 =:= 0 andalso now_ns() >= End of
        true -> N;
        false ->
            _ = global:whereis_name({cbw, 1 + K rem W}),
            lookup_loop(W, End, K + 1, N + 1)
    end.

%% On a member: one client sending requests by name, one at a time,
%% every IntervalMs, each waiting up to TimeoutMs.  Outcomes by phase.
client_start(W, IntervalMs, TimeoutMs) ->
    Pid = spawn(fun() ->
        register(?CLIENT, self()),
        client(W, IntervalMs, TimeoutMs, steady, erlang:phash2(node(), W),
               #{}, [])
    end),
    is_pid(Pid).

client(W, Iv, To, Phase, K, Counts, Lat) ->
    receive
        {phase, P} -> client(W, Iv, To, P, K, Counts, Lat);
        {report, From} ->
            From ! {report, Counts, Lat},
            client(W, Iv, To, Phase, K, Counts, Lat)
    after Iv ->
        Name = {cbw, 1 + K rem W},
        T0 = now_ns(),
        R = case global:whereis_name(Name) of
                undefined -> failed;
                Pid ->
                    Ref = make_ref(),
                    Pid ! {req, self(), Ref},
                    receive {rep, Ref, _} -> ok after To -> lost end
            end,
        C2 = maps:update_with({Phase, R}, fun(X) -> X + 1 end, 1, Counts),
        L2 = case {R, Phase} of
                 {ok, steady} -> [now_ns() - T0 | Lat];
                 _ -> Lat
             end,
        client(W, Iv, To, Phase, K + 1, C2, L2)
    end.

client_report() ->
    ?CLIENT ! {report, self()},
    receive {report, C, L} -> {C, L} after 5000 -> {#{}, []} end.

%% ---- the run ----

run(P) ->
    N = int(P, "nodes", 2),
    W = int(P, "workers", 1),
    J = int(P, "joiners", 1),
    SteadyMs = int(P, "steady_ms", 1),
    IntervalMs = int(P, "interval_ms", 1),
    TimeoutMs = int(P, "timeout_ms", 1),
    ConvergeMs = int(P, "converge_ms", 1),
    Eager = maps:get("eager", P, "no") =:= "yes",

    %% Boot the first N (not timed: a VM's start is not the cluster's).
    T0 = now_ns(),
    Initial = boot(lists:seq(1, N)),
    metric_int("boot_ns", now_ns() - T0),
    Nodes = [Nd || {_, _, Nd, _} <- Initial],

    %% Formation: every member connects to the host list at once.
    T1 = now_ns(),
    Seen = pcall(Initial, node_join, [Nodes]),
    [S =:= N - 1 orelse error({formation, Seen}) || S <- Seen],
    metric_int("formation_ns", now_ns() - T1),

    %% Registration: each keeper starts the names it owns.
    T2 = now_ns(),
    pcall(Initial, keeper_start, [W, false]),
    [peer:call(Pid, erlang, send, [?KEEPER, {ensure, mine}])
     || {_, Pid, _, _} <- Initial],
    ok = wait_all_registered(Initial, Nodes, W, 30000),
    metric_int("registration_ns", now_ns() - T2),

    %% Lookups: whereis_name on every member at once.
    LookupMs = max(50, SteadyMs div 4),
    Ls = pcall(Initial, lookups, [W, LookupMs]),
    metric_f64("lookups_s", lists:sum(Ls) * 1000 / LookupMs),

    %% The request stream, from every member but the victim.
    [{_, VPid, _, VOs} = Victim | _] = lists:reverse(Initial),
    Clients = Initial -- [Victim],
    pcall(Clients, client_start, [W, IntervalMs, TimeoutMs]),
    Open = vm_ns(),
    timer:sleep(SteadyMs),

    %% The loss: SIGKILL the victim's OS process, as a pod is deleted.
    Lost = [I || {I, _} <- call(VPid, keeper_live, [])],
    set_phase(Clients, loss),
    Tk = sys_ns(),
    os:cmd("kill -9 " ++ VOs),
    put(peers, get(peers) -- [VPid]),
    Survivors = Clients,
    SurvivorNodes = [Nd || {_, _, Nd, _} <- Survivors],
    Healed = wait_all_registered(Survivors, SurvivorNodes, W, ConvergeMs),
    Healed =:= ok orelse fail("~b lost workers not restarted within ~b ms",
                              [length(Lost), ConvergeMs]),
    Handoff = handoff_times(Survivors, Lost, Tk, now_ns() + 5000000000),
    hist("handoff_ns", Handoff),
    metric_int("workers_lost", length(Lost)),
    timer:sleep(max(TimeoutMs, SteadyMs div 2)),

    %% A node joins later.
    set_phase(Clients, join),
    [Late] = boot([N + 1]),
    T3 = now_ns(),
    call(element(2, Late), node_join, [SurvivorNodes]),
    call(element(2, Late), keeper_start, [W, false]),
    ok = wait_all_registered([Late], [element(3, Late) | SurvivorNodes], W,
                             ConvergeMs),
    metric_int("join_ns", now_ns() - T3),
    timer:sleep(max(TimeoutMs, SteadyMs div 4)),
    set_phase(Clients, done),
    Close = vm_ns(),
    put(window, {Open, Close - Open}),
    Reports = pcall(Clients, client_report, []),
    Count = fun(Ph, R) -> lists:sum([maps:get({Ph, R}, C, 0)
                                     || {C, _} <- Reports]) end,
    Ok = lists:sum([Count(Ph, ok) || Ph <- [steady, loss, join]]),
    metric_int("ops", Ok),
    metric_int("requests_ok", Ok),
    metric_int("requests_lost", lists:sum([Count(Ph, lost)
                                           || Ph <- [steady, loss, join]])),
    metric_int("requests_failed", lists:sum([Count(Ph, failed)
                                             || Ph <- [steady, loss, join]])),
    metric_int("requests_lost_steady", Count(steady, lost)
                                       + Count(steady, failed)),
    %% From the kill until the late node had joined: the handoff window
    %% and what it cost, and whether the stream went on by name.
    metric_int("requests_lost_in_handoff", Count(loss, lost)
                                           + Count(loss, failed)),
    metric_int("requests_ok_after_loss", Count(loss, ok) + Count(join, ok)),
    hist("request_ns", lists:append([L || {_, L} <- Reports])),
    Dup1 = duplicates(Survivors ++ [Late]),

    %% Phase 2: several nodes join at once.
    Members = Survivors ++ [Late],
    Joiners = boot(lists:seq(N + 2, N + 1 + J)),
    %% eager=1: each joiner starts its own copy of every name before it
    %% has found the cluster (a node that boots its singletons first).
    pcall(Joiners, keeper_start, [W, Eager]),
    Eager andalso wait_eager(Joiners, W, now_ns() + ConvergeMs * 1000000),
    Dup0 = duplicates(Members ++ Joiners),
    Everyone = Members ++ Joiners,
    Host = [Nd || {_, _, Nd, _} <- Members],
    T4 = now_ns(),
    pcall(Joiners, node_join, [Host]),
    {Conv, Dup2} = wait_converged(Everyone, W, T4 + ConvergeMs * 1000000,
                                  0),
    metric_int("converged", case Conv of ok -> 1; _ -> 0 end),
    case Conv of
        ok -> metric_int("convergence_ns", now_ns() - T4);
        {no, Why} -> fail("the registry did not converge after ~b "
                          "simultaneous joins within ~b ms: ~s",
                          [J, ConvergeMs, Why])
    end,
    metric_int("duplicates_seen", lists:max([Dup0, Dup1, Dup2])),
    metric_int("nodes_at_end", length(Everyone)),
    ok.

set_phase(Clients, Ph) ->
    [peer:call(Pid, erlang, send, [?CLIENT, {phase, Ph}])
     || {_, Pid, _, _} <- Clients].

%% The times from the kill until each lost name was registered again, as
%% the survivors' keepers recorded them.  A worker tells its keeper after
%% global:register_name returns, so the name can be visible everywhere
%% before the keeper has heard of it: ask again until every lost name has
%% its event, or the deadline passes (a missing event is then reported as
%% a shorter histogram, which the tests catch).
handoff_times(Survivors, Lost, Tk, Deadline) ->
    Events = lists:append(pcall(Survivors, keeper_events, [])),
    Seen = [{I, T - Tk} || {I, T} <- Events, T >= Tk, lists:member(I, Lost)],
    Named = lists:usort([I || {I, _} <- Seen]),
    case length(Named) >= length(lists:usort(Lost)) orelse
         now_ns() > Deadline of
        true -> [D || {_, D} <- Seen];
        false ->
            timer:sleep(2),
            handoff_times(Survivors, Lost, Tk, Deadline)
    end.

%% Every member sees exactly the members Expect (a killed node gone from
%% every view) and all W names, each on one of them.
wait_all_registered(Members, Expect, W, Ms) ->
    Deadline = now_ns() + Ms * 1000000,
    wait_reg(Members, lists:sort(Expect), W, Deadline).
wait_reg(Members, Expect, W, Deadline) ->
    Views = pcall(Members, node_view, []),
    Done = lists:all(fun({Ms, Names, _}) ->
                         Ms =:= Expect andalso length(Names) =:= W andalso
                         lists:all(fun({_, Pid}) ->
                                       is_pid(Pid) andalso
                                       lists:member(node(Pid), Ms)
                                   end, Names);
                        (_) -> false
                     end, Views),
    case Done of
        true -> ok;
        false ->
            case now_ns() > Deadline of
                true -> timeout;
                false ->
                    timer:sleep(2),
                    wait_reg(Members, Expect, W, Deadline)
            end
    end.

%% Each eager joiner holds its own copy of all W names (alone, before
%% it has found anyone, global lets it register every one).
wait_eager(Joiners, W, Deadline) ->
    Live = pcall(Joiners, keeper_live, []),
    case lists:all(fun(L) -> is_list(L) andalso length(L) =:= W end, Live)
         orelse now_ns() > Deadline of
        true -> true;
        false -> timer:sleep(2), wait_eager(Joiners, W, Deadline)
    end.

%% Names with more than one live instance across the members' keepers.
duplicates(Members) ->
    Views = pcall(Members, node_view, []),
    dups(Views).
dups(Views) ->
    Names = [I || {_, _, Live} <- Views, {I, _} <- Live],
    length(Names) - length(lists:usort(Names)).

%% Converged: every member sees every other, and all agree that each of
%% the W names is one live process (exactly one instance across keepers,
%% the same pid in every replica of the table).
wait_converged(Everyone, W, Deadline, DupMax) ->
    Views = pcall(Everyone, node_view, []),
    Dup = max(DupMax, dups(Views)),
    All = lists:sort([Nd || {_, _, Nd, _} <- Everyone]),
    Live = lists:sort([{I, Pid} || {_, _, L} <- Views, {I, Pid} <- L]),
    Expect = [{{cbw, I}, Pid} || {I, Pid} <- Live],
    Why = if
              length(Views) =/= length(Everyone) -> "a member did not answer";
              true ->
                  case lists:usort([M || {M, _, _} <- Views]) of
                      [All] ->
                          Tables = lists:usort([T || {_, T, _} <- Views]),
                          case Tables of
                              [T] when length(T) =:= W, T =:= Expect,
                                       length(Live) =:= W -> ok;
                              [T] when length(Live) > W ->
                                  io_lib:format("~b instances of ~b names "
                                                "(table ~b)",
                                                [length(Live), W,
                                                 length(T)]);
                              [_] -> "names missing";
                              _ -> "the members' tables differ"
                          end;
                      _ -> "membership differs between members"
                  end
          end,
    case Why of
        ok -> {ok, Dup};
        _ ->
            case now_ns() > Deadline of
                true -> {{no, lists:flatten(Why)}, Dup};
                false ->
                    timer:sleep(5),
                    wait_converged(Everyone, W, Deadline, Dup)
            end
    end.
