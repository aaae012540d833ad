%% Lab 7: the handoff.  Edit restart_on/2; `concbench lab check 7 DIR`
%% runs the cluster workload on real Erlang nodes with this module in
%% place of peers/beam/concbench_handoff.erl.
%%
%% When a node dies, `global` forgets the names it held; nothing starts
%% them again.  Every survivor's keeper then calls restart_on(I, Members)
%% for each singleton I that nobody holds, and starts worker I itself
%% when the answer is its own node().  No keeper asks another: each one
%% decides from what it sees.
-module(concbench_handoff).
-export([restart_on/2]).

%% I: the lost singleton's number (its global name is {cbw, I}).
%% Members: the nodes this node sees now, itself included, sorted; the
%% dead node is no longer among them.
%% Returns the node that restarts worker I.
-spec restart_on(pos_integer(), [node()]) -> node() | nobody.
restart_on(_I, _Members) ->
    %% TODO: choose one survivor, the same one on every survivor.
    nobody.
