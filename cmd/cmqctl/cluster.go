package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/opencmq/opencmq/httpapi/client"
)

const clusterUsage = `cluster <status|add|remove> [flags]

cmqd's raft group, through its admin endpoints (/cluster/...). They take the admin token
(--admin-token or CMQ_ADMIN_TOKEN; cmqd prints it on its first start and keeps it in
<data>/admin-token), not the SecretId/SecretKey. status works without it on a cmqd that
listens on loopback.

  cluster status                       this node's view: role, term, leader, commit, applied, members
  cluster add --id N --addr HOST:PORT  add node N (raft address HOST:PORT) as a voter; then start it
                                       with: cmqd --node-id N --raft-listen HOST:PORT --join
                                       --peers <the members' raft addresses> ... (printed for you)
  cluster remove --id N                remove member N (its id can never be used again)

add and remove go to the leader: another node refuses with the leader's id and raft address.`

func runCluster(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintf(g.env.stdout, "Usage: cmqctl %s\n", clusterUsage)
			return nil
		}
		return usagef("cluster: want a subcommand: status, add or remove\n\nUsage: cmqctl %s", clusterUsage)
	}
	switch args[0] {
	case "status":
		return runClusterStatus(ctx, g, args[1:])
	case "add":
		return runClusterAdd(ctx, g, args[1:])
	case "remove":
		return runClusterRemove(ctx, g, args[1:])
	}
	return usagef("cluster: unknown subcommand %q (status, add or remove)", args[0])
}

func runClusterStatus(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("cluster status", "cluster status [flags]\n\n"+
		"Prints the node's view of its raft group: its role, the term, the leader, the commit and\n"+
		"applied indexes, and the members with their raft addresses (--json: the raw answer).")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	c, err := g.adminClient()
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.ClusterStatus(g.callCtx(ctx))
	if err != nil || g.jsonOut {
		return err
	}
	w := g.env.stdout
	ready := "ready"
	if !st.Ready {
		ready = "NOT ready"
	}
	fmt.Fprintf(w, "node %d: %s, term %d, %s\n", st.ID, st.Role, st.Term, ready)
	tw := table(w)
	leader := "none known"
	if st.Leader != 0 {
		leader = fmt.Sprintf("%d (%s)", st.Leader, st.PeerAddr(st.Leader))
	}
	fmt.Fprintf(tw, "leader\t%s\n", leader)
	fmt.Fprintf(tw, "commit\t%d\n", st.Commit)
	fmt.Fprintf(tw, "applied\t%d\n", st.Applied)
	if st.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", st.Error)
	}
	tw.Flush()
	fmt.Fprintln(w)
	var members strings.Builder
	tw = table(&members)
	fmt.Fprintln(tw, "ID\tRAFT ADDRESS\t")
	for _, p := range st.Peers {
		var notes []string
		if p.ID == st.Leader {
			notes = append(notes, "leader")
		}
		if p.ID == st.ID {
			notes = append(notes, "this node")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", p.ID, p.Addr, strings.Join(notes, ", "))
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(members.String(), "\n") {
		if line != "" {
			fmt.Fprintln(w, strings.TrimRight(line, " \n"))
		}
	}
	return nil
}

func runClusterAdd(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("cluster add", "cluster add --id N --addr HOST:PORT [flags]\n\n"+
		"Adds node N, whose raft transport listens on HOST:PORT, as a voter. Send it to the leader.\n"+
		"Then start the node (the command is printed): cmqd --node-id N --raft-listen HOST:PORT --join\n"+
		"--peers <the members' raft addresses> --data DIR ...\n"+
		"Ids are never reused: the id of a removed node is refused.")
	id := fs.Uint64("id", 0, "the new node's id (> 0, never used before)")
	addr := fs.String("addr", "", "the new node's raft address, host:port (its --raft-listen)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *id == 0 || *addr == "" {
		return usagef("cluster add: --id and --addr are required")
	}
	c, err := g.adminClient()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.ClusterAdd(g.callCtx(ctx), *id, *addr); err != nil {
		return notLeaderHint(err)
	}
	if !g.jsonOut {
		// The new node needs the members' raft addresses to reach the leader.
		peers := fmt.Sprintf("<members: see cmqctl cluster status>,%d=%s", *id, *addr)
		if st, err := c.ClusterStatus(ctx); err == nil {
			parts := make([]string, 0, len(st.Peers)+1)
			self := false
			for _, p := range st.Peers {
				parts = append(parts, fmt.Sprintf("%d=%s", p.ID, p.Addr))
				self = self || p.ID == *id
			}
			if !self {
				parts = append(parts, fmt.Sprintf("%d=%s", *id, *addr))
			}
			peers = strings.Join(parts, ",")
		}
		fmt.Fprintf(g.env.stdout, "added node %d (raft address %s)\nstart it with: cmqd --node-id %d --raft-listen %s --join --peers %s --data <its own dir> ...\n",
			*id, *addr, *id, *addr, peers)
	}
	return nil
}

func runClusterRemove(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("cluster remove", "cluster remove --id N [flags]\n\n"+
		"Removes member N from the raft group; its id can never be used again. Send it to the\n"+
		"leader. The leader itself cannot be removed: stop it first, then remove it through the\n"+
		"new leader.")
	id := fs.Uint64("id", 0, "the member's id")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *id == 0 {
		return usagef("cluster remove: --id is required")
	}
	c, err := g.adminClient()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.ClusterRemove(g.callCtx(ctx), *id); err != nil {
		return notLeaderHint(err)
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "removed node %d; stop its cmqd (the id is never used again)\n", *id)
	}
	return nil
}

// notLeaderHint adds what to do to a "not the leader" refusal.
func notLeaderHint(err error) error {
	if leader, _, ok := client.NotLeader(err); ok && leader != 0 {
		return fmt.Errorf("%w\nhint: point --endpoint at node %d's HTTP address", err, leader)
	}
	return err
}
