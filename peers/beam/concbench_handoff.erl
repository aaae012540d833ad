%% SPDX-License-Identifier: MIT
%% SPDX-FileCopyrightText: concbench authors
%%
%% The handoff's one decision, for the cluster workload
%% (concbench_cluster.erl): when a node dies, which survivor restarts
%% each name it held.  OTP's `global` only removes a dead node's names
%% (erlang.org/doc/man/global.html: "If a process with a registered name
%% dies, or the node goes down, the name is unregistered"); it starts
%% nothing again.  Swarm and horde add that step; here every survivor's
%% keeper, on nodedown, calls restart_on/2 for each name nobody holds,
%% and starts the worker when the answer is its own node.
%%
%% Rendezvous (highest-random-weight) hashing: the member with the
%% highest hash of {Name, Member} wins.  Every survivor computes it from
%% its own view with no message, so survivors that see the same members
%% agree on one node, and only the dead node's names move (the others'
%% winners are unchanged).  Two survivors that disagree both register;
%% global's lock lets one win, the other's worker exits.
%%
%% Lab 7 (labs/07-cluster-handoff) has students write this module; this
%% is its reference solution too.
-module(concbench_handoff).
-export([restart_on/2]).

%% Name: a lost singleton's number I (its global name is {cbw, I});
%% Members: the nodes this node sees now, itself included, sorted.
%% Returns the node that restarts Name.
-spec restart_on(term(), [node()]) -> node().
restart_on(Name, Members) ->
    {_, Best} = lists:max([{erlang:phash2({Name, N}), N} || N <- Members]),
    Best.
