/* The generic syscall path: raw tracepoints sys_enter/sys_exit for every syscall event.
 *
 * syscall_conf (filled by user space from syscalls.py) says, per syscall number (ia32 numbers at
 * COMPAT_BASE + nr), whether its event is wanted, its Tracee event id and the kind of each
 * argument. An unwanted syscall costs one array lookup at entry and one at exit. The arguments
 * are saved at entry (per thread) and the event is emitted at exit with the return value, the
 * strings and socket addresses read then (record layout: layout.py). */

/* fd_state (with SC_FD_STATE): FD_ARG0/FD_ARG1, the fd arguments of which one must be in the
 * inet_socket_fd state for the event to leave the kernel, and what the call does to the state */
struct sc_conf { u32 event_id; u8 kinds[6]; u8 flags; u8 fd_state; };
struct sc_args { u64 a[6]; u64 ts; u32 key; u32 compat; };
BPF_ARRAY(syscall_conf, struct sc_conf, SC_TABLE_SIZE);
BPF_TABLE("lru_hash", u32, struct sc_args, sc_pending, 16384);   /* thread id -> args at entry */
BPF_PERCPU_ARRAY(sc_scratch, struct sc_args, 1);

/* derived.bpf.c (appended): events derived at the exits of SC_DERIVE syscalls */
static __always_inline void derive_enter(u32 ev);
static __always_inline void derive(void *ctx, u32 ev, struct sc_args *s, long ret);

#define SOCKADDR_MAX 128
#define AF_UNIX_ 1
#define AF_INET6_ 10

static __always_inline void put_user_sockaddr(struct buf *b, const void *src) {
    u16 family = 0;
    if (!src || bpf_probe_read_user(&family, sizeof(family), src) < 0) { put_marker(b, 0); return; }
    u32 len = family == AF_UNIX_ ? 110 : family == AF_INET6_ ? 28 : 16;
    put_user_blob(b, src, len, SOCKADDR_MAX);
}

/* The syscall's table key and its entry, or NULL when neither its event nor one derived from it
 * is wanted. */
static __always_inline struct sc_conf *sc_lookup(long nr, u32 *key_out, u32 *compat_out) {
    if (nr < 0 || nr >= COMPAT_BASE) return NULL;
    /* Every syscall of the machine comes here: both rows first (array lookups, no helper), the
     * task's ia32 status only when one of them is wanted. */
    u32 native = (u32)nr, ia32 = (u32)nr + COMPAT_BASE;
    struct sc_conf *n = syscall_conf.lookup(&native);
    struct sc_conf *i = syscall_conf.lookup(&ia32);
    if (!(n && (n->flags & (SC_WANTED | SC_DERIVE))) && !(i && (i->flags & (SC_WANTED | SC_DERIVE))))
        return NULL;
    struct task_struct *t = bpf_get_current_task_btf();
    u32 compat = (t->thread_info.status & TS_COMPAT) ? 1 : 0;   /* a BTF load, not a helper call */
    struct sc_conf *sc = compat ? i : n;
    if (!sc || !(sc->flags & (SC_WANTED | SC_DERIVE))) return NULL;
    *key_out = compat ? ia32 : native;
    *compat_out = compat;
    return sc;
}

/* The calling task's user registers as a BTF pointer: its fields are plain loads. */
static __always_inline struct pt_regs *user_regs(void) {
    return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Whether a call of an SC_FD_STATE syscall names a tracked fd (a0, a1: its first arguments). */
static __always_inline int fd_state_hit(struct sc_conf *sc, u32 tgid, u64 a0, u64 a1) {
    u8 st = sc->fd_state;
    return ((st & FD_ARG0) && fd_tracked(tgid, a0)) || ((st & FD_ARG1) && fd_tracked(tgid, a1));
}

/* What the call did to the state: close forgets its fd; a dup's new fd is tracked if the old one is. */
static __always_inline void fd_state_update(struct sc_conf *sc, u32 tgid, u64 a0, u64 a1, long ret) {
    u8 st = sc->fd_state;
    if (st & FD_CLOSE) { fd_track(tgid, a0, 0); return; }
    if (ret < 0) return;
    u64 dst = (st & FD_DUP_TO_ARG1) ? a1 : (u64)ret;
    fd_track(tgid, dst, fd_tracked(tgid, a0));
}

static __always_inline int emit_generic(void *ctx, struct sc_conf *sc, struct sc_args *s, long ret) {
    struct buf *b = start(sc->event_id, ret, 0);
    if (!b) return 0;
    struct config *c = cfg();
    struct hdr *h = (struct hdr *)b->d;
    h->ts = s->ts;                                   /* the call's entry time */
    h->flags |= HF_GENERIC | (s->compat ? HF_COMPAT : 0);
    for (int i = 0; i < 6; i++) put_u64(b, P0 + 8 * i, s->a[i]);
    set_off(P0 + 48);
    for (int i = 0; i < 6; i++) {
        u8 k = sc->kinds[i];
        const void *p = (const void *)s->a[i];
        if (k == ARG_STR) put_user_str(b, p);
        else if (k == ARG_SOCKADDR) put_user_sockaddr(b, p);
        else if (k == ARG_INT_ARR2) put_user_blob(b, p, 8, 8);
    }
    /* string arrays last: argv, then envp (only with F_EXEC_ENV, else marked not captured) */
    int arrays = 0;
    for (int i = 1; i < 4; i++) {
        if (sc->kinds[i] != ARG_STR_ARRAY) continue;
        if (arrays++ && !(c && (c->flags & F_EXEC_ENV))) { put_marker(b, 0xffff); continue; }
        put_user_str_array(b, (const char *const *)s->a[i], MAX_ENV, s->compat);
    }
    submit(ctx, b);
    return 0;
}

/* sys_enter / sys_exit events: the syscall number of every call (Tracee's "syscall" argument) */
static __always_inline void emit_raw_syscall(void *ctx, u32 event_id, long nr, long ret) {
    struct buf *b = start(event_id, ret, 0);
    if (!b) return;
    put_u64(b, P0, (u64)nr);
    set_off(P0 + 8);
    submit(ctx, b);
}

#if defined(WANT_GENERIC) || defined(WANT_SYS_ENTER)
RAW_TRACEPOINT_PROBE(sys_enter) {
    long nr = (long)ctx->args[1];
#ifdef WANT_SYS_ENTER
    emit_raw_syscall(ctx, EV_SYS_ENTER, nr, 0);
#endif
#ifdef WANT_GENERIC
    u32 key = 0, compat = 0;
    struct sc_conf *sc = sc_lookup(nr, &key, &compat);
    if (!sc) return 0;
    /* fd-state syscalls (integer arguments, still in the registers at exit) are decided and
     * emitted at exit alone: nothing to save for the many calls on untracked fds */
    if ((sc->flags & SC_FD_STATE) && !(sc->flags & SC_DERIVE)) return 0;
    int zero = 0;
    struct sc_args *s = sc_scratch.lookup(&zero);
    if (!s) { count_drop(); return 0; }
    struct pt_regs *regs = user_regs();
    if (compat) {   /* ia32 convention: ebx, ecx, edx, esi, edi, ebp */
        s->a[0] = (u32)regs->bx;
        s->a[1] = (u32)regs->cx;
        s->a[2] = (u32)regs->dx;
        s->a[3] = (u32)regs->si;
        s->a[4] = (u32)regs->di;
        s->a[5] = (u32)regs->bp;
    } else {
        s->a[0] = regs->di;
        s->a[1] = regs->si;
        s->a[2] = regs->dx;
        s->a[3] = regs->r10;
        s->a[4] = regs->r8;
        s->a[5] = regs->r9;
    }
    s->ts = bpf_ktime_get_ns();
    s->key = key;
    s->compat = compat;
    if ((sc->flags & SC_AT_ENTER) && (sc->flags & SC_WANTED)) emit_generic(ctx, sc, s, 0);
    if ((sc->flags & SC_AT_ENTER) && !(sc->flags & SC_DERIVE)) return 0;
    if (sc->flags & SC_DERIVE) derive_enter(sc->event_id);
    u32 tid = (u32)bpf_get_current_pid_tgid();
    sc_pending.update(&tid, s);
#endif
    return 0;
}
#endif

#if defined(WANT_GENERIC) || defined(WANT_SYS_EXIT) || defined(RAW_FINIT_MODULE) || defined(WANT_SECURITY_FILE_OPEN)
RAW_TRACEPOINT_PROBE(sys_exit) {
    struct pt_regs *regs = user_regs();
    long ret = (long)ctx->args[1];
    long nr = regs->orig_ax;
#ifdef WANT_SECURITY_FILE_OPEN
    {
        u64 oa[6] = {};
        u32 open_nr = open_call(nr, regs, oa);
        if (open_nr) emit_file_open(ctx, ret, open_nr, oa);
    }
#endif
#ifdef RAW_FINIT_MODULE
    raw_finit_module_exit(ctx, regs, ret);
#endif
#ifdef WANT_SYS_EXIT
    emit_raw_syscall(ctx, EV_SYS_EXIT, nr, ret);
#endif
#ifdef WANT_GENERIC
    u32 key = 0, compat = 0;
    struct sc_conf *sc = sc_lookup(nr, &key, &compat);
    if (!sc || ((sc->flags & SC_AT_ENTER) && !(sc->flags & SC_DERIVE))) return 0;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    int fd_hit = 1;
    if (sc->flags & SC_FD_STATE) {           /* on the registers, as the call left them */
        u64 a0 = 0, a1 = 0;
        if (compat) { a0 = (u32)regs->bx; a1 = (u32)regs->cx; }
        else { a0 = regs->di; a1 = regs->si; }
        u32 tgid = bpf_get_current_pid_tgid() >> 32;
        fd_hit = fd_state_hit(sc, tgid, a0, a1);
        if (fd_hit) fd_state_update(sc, tgid, a0, a1, ret);
        else count_filtered();                /* no rule can match a call on an untracked fd */
        if (!(sc->flags & SC_DERIVE)) {       /* nothing was saved at entry */
            if (!fd_hit || !(sc->flags & SC_WANTED)) return 0;
            int zero = 0;
            struct sc_args *s = sc_scratch.lookup(&zero);
            if (!s) { count_drop(); return 0; }
            if (compat) {
                s->a[0] = a0; s->a[1] = a1; s->a[2] = (u32)regs->dx; s->a[3] = (u32)regs->si;
                s->a[4] = (u32)regs->di; s->a[5] = (u32)regs->bp;
            } else {
                s->a[0] = a0; s->a[1] = a1; s->a[2] = regs->dx; s->a[3] = regs->r10;
                s->a[4] = regs->r8; s->a[5] = regs->r9;
            }
            s->ts = bpf_ktime_get_ns();
            s->key = key;
            s->compat = compat;
            emit_generic(ctx, sc, s, ret);
            return 0;
        }
    }
    struct sc_args *p = sc_pending.lookup(&tid);
    if (!p) {                                /* entered before we attached, or evicted: counted */
        int one = 1;
        u64 *c = counters.lookup(&one);
        if (c) (*c)++;
        return 0;
    }
    int zero = 0;
    struct sc_args *s = sc_scratch.lookup(&zero);
    if (!s) { sc_pending.delete(&tid); count_drop(); return 0; }
    __builtin_memcpy(s, p, sizeof(*s));
    sc_pending.delete(&tid);
    if (s->key != key) return 0;             /* not the call that entered (restarted, exec'd) */
    if ((sc->flags & SC_WANTED) && !(sc->flags & SC_AT_ENTER) && fd_hit) emit_generic(ctx, sc, s, ret);
    if (sc->flags & SC_DERIVE) derive(ctx, sc->event_id, s, ret);
    return 0;
#endif
    return 0;
}
#endif
