/* Task and cgroup events from sched/task/cgroup tracepoints (derived record layout: the
 * catalog's integer arguments as u64, then its string arguments as items; layout.py). */

static __always_inline struct buf *tstart(u32 id) {
    struct buf *b = start(id, 0, 0);
    if (b) ((struct hdr *)b->d)->flags |= HF_DERIVED;
    return b;
}

#ifdef WANT_SCHED_PROCESS_FORK
RAW_TRACEPOINT_PROBE(sched_process_fork) {
    struct task_struct *parent = (struct task_struct *)ctx->args[0];
    struct task_struct *child = (struct task_struct *)ctx->args[1];
    struct buf *b = tstart(EV_SCHED_PROCESS_FORK);
    if (!b) return 0;
    u32 level = task_level(parent);
    struct pid *pp, *cp;
    u32 ptid = 0, ctid = 0;
    RD(pp, parent->thread_pid);
    RD(cp, child->thread_pid);
    RD(ptid, parent->pid);
    RD(ctid, child->pid);
    u32 clevel = task_level(child);
    put_u64(b, P0, ptid);
    put_u64(b, P0 + 8, pid_at_level(pp, level));
    put_u64(b, P0 + 16, bpf_get_current_pid_tgid() >> 32);
    put_u64(b, P0 + 24, ns_tgid_of(parent, level));
    put_u64(b, P0 + 32, ctid);
    put_u64(b, P0 + 40, pid_at_level(cp, clevel));
    u32 cpid = 0;
    struct task_struct *leader;
    RD(leader, child->group_leader);
    RD(cpid, leader->pid);
    put_u64(b, P0 + 48, cpid);
    put_u64(b, P0 + 56, ns_tgid_of(child, clevel));
    u64 st = 0;
    RD(st, child->start_time);
    put_u64(b, P0 + 64, st);
    set_off(P0 + 72);
    submit(ctx, b);
    return 0;
}
#endif

#ifdef WANT_SCHED_SWITCH
RAW_TRACEPOINT_PROBE(sched_switch) {
    struct task_struct *prev = (struct task_struct *)ctx->args[1];
    struct task_struct *next = (struct task_struct *)ctx->args[2];
    struct buf *b = tstart(EV_SCHED_SWITCH);
    if (!b) return 0;
    u32 ptid = 0, ntid = 0;
    RD(ptid, prev->pid);
    RD(ntid, next->pid);
    put_u64(b, P0, bpf_get_smp_processor_id());
    put_u64(b, P0 + 8, ptid);
    put_u64(b, P0 + 16, ntid);
    set_off(P0 + 24);
    put_kernel_str(b, &prev->comm);
    put_kernel_str(b, &next->comm);
    submit(ctx, b);
    return 0;
}
#endif

#ifdef WANT_TASK_RENAME
TRACEPOINT_PROBE(task, task_rename) {
    struct buf *b = tstart(EV_TASK_RENAME);
    if (!b) return 0;
    struct task_struct *t = bpf_get_current_task_btf();
    struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(t);
    long nr = -1;
    bpf_probe_read_kernel(&nr, sizeof(nr), &r->orig_ax);
    put_u64(b, P0, nr);
    set_off(P0 + 8);
    put_kernel_str(b, args->oldcomm);
    put_kernel_str(b, args->newcomm);
    submit(args, b);
    return 0;
}
#endif

#ifdef WANT_CGROUP_RMDIR
TRACEPOINT_PROBE(cgroup, cgroup_rmdir) {
    emit_cgroup_dir(args, EV_CGROUP_RMDIR, args->id, args->root, args->data_loc_path);
    return 0;
}
#endif

#ifdef WANT_CGROUP_ATTACH_TASK
TRACEPOINT_PROBE(cgroup, cgroup_attach_task) {
    struct buf *b = tstart(EV_CGROUP_ATTACH_TASK);
    if (!b) return 0;
    put_u64(b, P0, (u32)args->pid);
    set_off(P0 + 8);
    put_kernel_str(b, (const char *)args + BOUND(args->data_loc_dst_path & 0xFFFF, 0xffff));
    put_kernel_str(b, (const char *)args + BOUND(args->data_loc_comm & 0xFFFF, 0xffff));
    submit(args, b);
    return 0;
}
#endif
