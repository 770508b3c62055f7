/* Events Tracee takes from LSM hooks and kernel functions, derived here at syscall exits (the
 * generic path calls derive() for syscalls marked SC_DERIVE; sources.py says which feed which).
 *
 * Derived records (HF_DERIVED) follow the catalog's argument order: one u64 per integer
 * argument, then one item per string / sockaddr / credential argument (layout.py). */

#define AT_REMOVEDIR_ 0x200
#define S_IFSOCK_ 0140000
#define AF_INET_ 2
#define MAP_ANON_ 0x20
#define BPF_MAP_CREATE_ 0

#define AT_FDCWD_ -100

/* A path argument of an *at call as the LSM hook sees it: absolute, the directory (dirfd's
 * file, or the cwd for AT_FDCWD) joined with the caller's relative path; absolute paths as given. */
static __always_inline void put_at_path(struct buf *b, long dirfd, const char *upath) {
    char first = 0;
    if (!upath || bpf_probe_read_user(&first, 1, upath) < 0 || first == '/') { put_user_str(b, upath); return; }
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    const struct path *dir = NULL;
    if ((int)dirfd == AT_FDCWD_) {
        struct fs_struct *fs = NULL;
        RD(fs, t->fs);
        if (fs) dir = &fs->pwd;
    } else {
        struct file *f = fd_file(t, dirfd);
        if (f) dir = &f->f_path;
    }
    struct aux *x = aux();
    if (!dir || !x) { put_user_str(b, upath); return; }
    walk_path(dir, x);
    u64 off = x->off;
    if (off > HALF - 3) return;
    long n1 = bpf_probe_read_kernel_str(&b->d[BOUND(off + 2, 0x3fff)], PATH_HALF, &x->p[BOUND(x->poff, 0xfff)]);
    if (n1 < 1) n1 = 1;
    u64 pos = off + 2 + n1 - 1;                      /* over the directory's NUL */
    if (n1 != 2) {                                   /* not "/": add the separator */
        b->d[BOUND(pos, 0x3fff)] = '/';
        pos++;
    }
    long n2 = bpf_probe_read_user_str(&b->d[BOUND(pos, 0x3fff)], MAX_STR, upath);
    if (n2 < 1) n2 = 1;
    u64 total = BOUND(pos - (off + 2) + n2, 0x3fff);
    put_len(b, off, total);
    x->off = off + 2 + total;
}

static __always_inline struct buf *dstart(u32 id, long ret) {
    struct buf *b = start(id, ret, 0);
    if (b) ((struct hdr *)b->d)->flags |= HF_DERIVED;
    return b;
}

static __always_inline struct socket *fd_socket(struct task_struct *t, int fd) {
    struct file *f = fd_file(t, fd);
    if (!f) return NULL;
    struct inode *ino; u16 mode = 0;
    RD(ino, f->f_inode);
    RD(mode, ino->i_mode);
    if ((mode & S_IFMT) != S_IFSOCK_) return NULL;
    struct socket *sock = NULL;
    RD(sock, f->private_data);
    return sock;
}

/* A socket's own (remote = 0) or peer address as a raw struct sockaddr item, as the kernel
 * would give it to getsockname/getpeername (AF_INET, AF_INET6, AF_UNIX). */
static __always_inline void put_sock_addr(struct buf *b, struct socket *sock, int remote) {
    struct aux *x = aux();
    if (!x) return;
    u64 off = x->off;
    if (off > HALF - 3) return;
    struct sock *sk = NULL;
    if (sock) RD(sk, sock->sk);
    if (!sk) { put_marker(b, 0); return; }
    u16 family = 0;
    RD(family, sk->__sk_common.skc_family);
    u8 *d = &b->d[BOUND(off + 2, 0x3fff)];
    u32 n = 0;
    if (family == AF_INET_) {
        u32 addr = 0; u16 port = 0;
        if (remote) { RD(addr, sk->__sk_common.skc_daddr); RD(port, sk->__sk_common.skc_dport); }
        else {
            u16 num = 0;
            RD(addr, sk->__sk_common.skc_rcv_saddr);
            RD(num, sk->__sk_common.skc_num);
            port = (num >> 8) | (num << 8);          /* skc_num is host order */
        }
        __builtin_memset(d, 0, 16);
        *(u16 *)d = family;
        *(u16 *)(d + 2) = port;
        *(u32 *)(d + 4) = addr;
        n = 16;
    } else if (family == AF_INET6_) {
        u16 port = 0;
        __builtin_memset(d, 0, 28);
        if (remote) {
            RD(port, sk->__sk_common.skc_dport);
            bpf_probe_read_kernel(d + 8, 16, &sk->__sk_common.skc_v6_daddr);
        } else {
            u16 num = 0;
            RD(num, sk->__sk_common.skc_num);
            port = (num >> 8) | (num << 8);
            bpf_probe_read_kernel(d + 8, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        }
        *(u16 *)d = family;
        *(u16 *)(d + 2) = port;
        n = 28;
    } else if (family == AF_UNIX_) {
        struct unix_sock *u = (struct unix_sock *)sk;
        struct unix_address *ua = NULL;
        if (!remote) RD(ua, u->addr);
        __builtin_memset(d, 0, 110);
        *(u16 *)d = family;
        if (ua) bpf_probe_read_kernel(d + 2, 108, &ua->name[0].sun_path);
        n = 110;
    } else {
        *(u16 *)d = family;
        n = 2;
    }
    put_len(b, off, n);
    x->off = off + 2 + n;
}

/* The file behind fd as [dev, inode, ctime] and its path item (caller writes the order). */
struct fd_info { struct file *f; struct file_info fi; };

static __always_inline int fd_info_of(int fd, struct fd_info *out) {
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    out->f = fd_file(t, fd);
    if (!out->f) return 0;
    file_info(out->f, &out->fi);
    return 1;
}

/* -- the files mapped at each (process, start address), for security_file_mprotect ------------- */
#ifdef WANT_SECURITY_FILE_MPROTECT
struct mapped_file { u64 ctime; u8 path[256]; };
BPF_TABLE("lru_hash", struct region_key, struct mapped_file, mapped_files, 8192);
BPF_PERCPU_ARRAY(mapped_scratch, struct mapped_file, 1);

static __always_inline void remember_mapping(u64 addr, struct fd_info *fd) {
    struct region_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .addr = addr};
    if (!fd) { mapped_files.delete(&k); return; }          /* anonymous now: forget the file */
    int zero = 0;
    struct mapped_file *m = mapped_scratch.lookup(&zero);
    struct aux *x = aux();
    if (!m || !x) return;
    m->ctime = fd->fi.ctime;
    walk_path(&fd->f->f_path, x);
    bpf_probe_read_kernel_str(m->path, sizeof(m->path), &x->p[BOUND(x->poff, 0xfff)]);
    mapped_files.update(&k, m);
}
#endif

/* -- credentials: snapshot at entry, compared at exit (commit_creds) ----------------------------- */
struct slim_cred { u64 v[15]; };   /* SlimCred's fields in its order */
BPF_TABLE("lru_hash", u32, struct slim_cred, cred_before, 4096);
BPF_PERCPU_ARRAY(cred_now, struct slim_cred, 1);

static __always_inline void read_cred(struct slim_cred *c) {
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    const struct cred *cr = NULL;
    RD(cr, t->real_cred);
    if (!cr) return;
    u32 v = 0; u64 cap = 0;
    RD(v, cr->uid.val); c->v[0] = v;
    RD(v, cr->gid.val); c->v[1] = v;
    RD(v, cr->suid.val); c->v[2] = v;
    RD(v, cr->sgid.val); c->v[3] = v;
    RD(v, cr->euid.val); c->v[4] = v;
    RD(v, cr->egid.val); c->v[5] = v;
    RD(v, cr->fsuid.val); c->v[6] = v;
    RD(v, cr->fsgid.val); c->v[7] = v;
    struct user_namespace *ns = NULL;
    RD(ns, cr->user_ns);
    v = 0;
    if (ns) RD(v, ns->ns.inum);
    c->v[8] = v;
    RD(v, cr->securebits); c->v[9] = v;
    RD(cap, cr->cap_inheritable.val); c->v[10] = cap;
    RD(cap, cr->cap_permitted.val); c->v[11] = cap;
    RD(cap, cr->cap_effective.val); c->v[12] = cap;
    RD(cap, cr->cap_bset.val); c->v[13] = cap;
    RD(cap, cr->cap_ambient.val); c->v[14] = cap;
}

static __always_inline void put_blob_kernel(struct buf *b, const void *src, u32 len) {
    struct aux *x = aux();
    if (!x) return;
    u64 off = x->off;
    if (off > HALF - 3) return;
    len &= 0xff;
    if (bpf_probe_read_kernel(&b->d[BOUND(off + 2, 0x3fff)], len, src) < 0) len = 0;
    put_len(b, off, len);
    x->off = off + 2 + len;
}

#ifdef WANT_COMMIT_CREDS
static __always_inline int is_cred_syscall(u32 ev) {
    return ev == NR_SETUID || ev == NR_SETGID || ev == NR_SETREUID || ev == NR_SETREGID ||
           ev == NR_SETRESUID || ev == NR_SETRESGID || ev == NR_SETFSUID || ev == NR_SETFSGID ||
           ev == NR_CAPSET || ev == NR_EXECVE || ev == NR_EXECVEAT;
}
#endif

/* called at entry for SC_DERIVE syscalls */
static __always_inline void derive_enter(u32 ev) {
#ifdef WANT_COMMIT_CREDS
    if (!is_cred_syscall(ev)) return;
    int zero = 0;
    struct slim_cred *c = cred_now.lookup(&zero);
    if (!c) return;
    __builtin_memset(c, 0, sizeof(*c));
    read_cred(c);
    u32 tid = (u32)bpf_get_current_pid_tgid();
    cred_before.update(&tid, c);
#endif
}

/* called at exit (or at entry for SC_AT_ENTER calls) for SC_DERIVE syscalls */
static __always_inline void derive(void *ctx, u32 ev, struct sc_args *s, long ret) {
    struct buf *b;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
#ifdef WANT_SECURITY_SOCKET_CREATE
    if (ev == NR_SOCKET && ret >= 0 && (b = dstart(EV_SECURITY_SOCKET_CREATE, ret))) {
        put_u64(b, P0, s->a[0]); put_u64(b, P0 + 8, s->a[1]); put_u64(b, P0 + 16, s->a[2]);
        put_u64(b, P0 + 24, 0);                           /* kern: a user socket */
        set_off(P0 + 32);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_BPF
    if (ev == NR_BPF && (b = dstart(EV_SECURITY_BPF, ret))) {
        put_u64(b, P0, s->a[0]);
        set_off(P0 + 8);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_BPF_MAP
    if (ev == NR_BPF && s->a[0] == BPF_MAP_CREATE_ && ret >= 0 && (b = dstart(EV_SECURITY_BPF_MAP, ret))) {
        /* map_id: the new map's id, read from the new fd's struct bpf_map */
        struct file *f = fd_file(t, ret);
        struct bpf_map *m = NULL;
        u32 id = 0;
        if (f) RD(m, f->private_data);
        if (m) RD(id, m->id);
        put_u64(b, P0, id);
        set_off(P0 + 8);
        if (m) put_kernel_str(b, &m->name); else put_marker(b, 0);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_INODE_UNLINK
    if (((ev == NR_UNLINK) || (ev == NR_UNLINKAT && !(s->a[2] & AT_REMOVEDIR_))) && ret == 0 &&
        (b = dstart(EV_SECURITY_INODE_UNLINK, ret))) {
        put_u64(b, P0, 0); put_u64(b, P0 + 8, 0); put_u64(b, P0 + 16, 0);   /* inode, device, ctime: gone */
        set_off(P0 + 24);
        if (ev == NR_UNLINK) put_at_path(b, AT_FDCWD_, (const char *)s->a[0]);
        else put_at_path(b, s->a[0], (const char *)s->a[1]);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_INODE_RENAME
    if ((ev == NR_RENAME || ev == NR_RENAMEAT || ev == NR_RENAMEAT2) && ret == 0 &&
        (b = dstart(EV_SECURITY_INODE_RENAME, ret))) {
        set_off(P0);
        if (ev == NR_RENAME) {
            put_at_path(b, AT_FDCWD_, (const char *)s->a[0]);
            put_at_path(b, AT_FDCWD_, (const char *)s->a[1]);
        } else {
            put_at_path(b, s->a[0], (const char *)s->a[1]);
            put_at_path(b, s->a[2], (const char *)s->a[3]);
        }
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_INODE_MKNOD
    if ((ev == NR_MKNOD || ev == NR_MKNODAT) && ret == 0 && (b = dstart(EV_SECURITY_INODE_MKNOD, ret))) {
        int at = ev == NR_MKNODAT;
        put_u64(b, P0, s->a[at + 1]);
        put_u64(b, P0 + 8, s->a[at + 2]);
        set_off(P0 + 16);
        put_at_path(b, at ? (long)s->a[0] : AT_FDCWD_, (const char *)s->a[at]);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_INODE_SYMLINK
    if ((ev == NR_SYMLINK || ev == NR_SYMLINKAT) && ret == 0 && (b = dstart(EV_SECURITY_INODE_SYMLINK, ret))) {
        set_off(P0);
        if (ev == NR_SYMLINK) put_at_path(b, AT_FDCWD_, (const char *)s->a[1]);  /* linkpath */
        else put_at_path(b, s->a[1], (const char *)s->a[2]);
        put_user_str(b, (const void *)s->a[0]);                                    /* target */
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_SOCKET_BIND
    if (ev == NR_BIND && (b = dstart(EV_SECURITY_SOCKET_BIND, ret))) {
        put_u64(b, P0, s->a[0]);
        set_off(P0 + 8);
        put_user_sockaddr(b, (const void *)s->a[1]);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_SOCKET_LISTEN
    if (ev == NR_LISTEN && (b = dstart(EV_SECURITY_SOCKET_LISTEN, ret))) {
        put_u64(b, P0, s->a[0]);
        put_u64(b, P0 + 8, s->a[1]);
        set_off(P0 + 16);
        put_sock_addr(b, fd_socket(t, s->a[0]), 0);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_SOCKET_ACCEPT
    if ((ev == NR_ACCEPT || ev == NR_ACCEPT4) && (b = dstart(EV_SECURITY_SOCKET_ACCEPT, ret))) {
        put_u64(b, P0, s->a[0]);
        set_off(P0 + 8);
        put_sock_addr(b, fd_socket(t, s->a[0]), 0);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SOCKET_ACCEPT
    if ((ev == NR_ACCEPT || ev == NR_ACCEPT4) && ret >= 0 && (b = dstart(EV_SOCKET_ACCEPT, ret))) {
        put_u64(b, P0, s->a[0]);
        set_off(P0 + 8);
        put_sock_addr(b, fd_socket(t, s->a[0]), 0);
        put_sock_addr(b, fd_socket(t, ret), 1);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_SOCKET_SETSOCKOPT
    if (ev == NR_SETSOCKOPT && (b = dstart(EV_SECURITY_SOCKET_SETSOCKOPT, ret))) {
        put_u64(b, P0, s->a[0]); put_u64(b, P0 + 8, s->a[1]); put_u64(b, P0 + 16, s->a[2]);
        set_off(P0 + 24);
        put_sock_addr(b, fd_socket(t, s->a[0]), 0);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SOCKET_DUP
    if ((ev == NR_DUP || ev == NR_DUP2 || ev == NR_DUP3) && ret >= 0) {
        struct socket *sock = fd_socket(t, s->a[0]);
        if (sock && (b = dstart(EV_SOCKET_DUP, ret))) {
            put_u64(b, P0, s->a[0]);
            put_u64(b, P0 + 8, ret);
            set_off(P0 + 16);
            put_sock_addr(b, sock, 1);
            submit(ctx, b);
        }
    }
#endif
#ifdef WANT_SWITCH_TASK_NS
    if ((ev == NR_SETNS || ev == NR_UNSHARE) && ret == 0 && (b = dstart(EV_SWITCH_TASK_NS, ret))) {
        struct nsproxy *nsp = NULL;
        RD(nsp, t->nsproxy);
        u32 v[6] = {};
        if (nsp) {
            struct mnt_namespace *mnt; struct pid_namespace *pid; struct uts_namespace *uts;
            struct ipc_namespace *ipc; struct net *net; struct cgroup_namespace *cg;
            RD(mnt, nsp->mnt_ns); RD(v[0], mnt->ns.inum);
            RD(pid, nsp->pid_ns_for_children); RD(v[1], pid->ns.inum);
            RD(uts, nsp->uts_ns); RD(v[2], uts->ns.inum);
            RD(ipc, nsp->ipc_ns); RD(v[3], ipc->ns.inum);
            RD(net, nsp->net_ns); RD(v[4], net->ns.inum);
            RD(cg, nsp->cgroup_ns); RD(v[5], cg->ns.inum);
        }
        put_u64(b, P0, bpf_get_current_pid_tgid() >> 32);
        for (int i = 0; i < 6; i++) put_u64(b, P0 + 8 + 8 * i, v[i]);
        set_off(P0 + 56);
        submit(ctx, b);
    }
#endif
#ifdef WANT_SECURITY_FILE_MPROTECT
    if (ev == NR_MUNMAP && ret == 0) remember_mapping(s->a[0], NULL);
    if (ev == NR_MMAP && (ret >= 0 || ret < -4095) && ((s->a[3] & MAP_ANON_) || (long)s->a[4] < 0))
        remember_mapping(ret, NULL);
#endif
#if defined(WANT_SECURITY_MMAP_FILE) || defined(WANT_SHARED_OBJECT_LOADED) || defined(WANT_SECURITY_FILE_MPROTECT)
    if (ev == NR_MMAP && (ret >= 0 || ret < -4095) && !(s->a[3] & MAP_ANON_) && (long)s->a[4] >= 0) {
        struct fd_info fd = {};
        if (fd_info_of(s->a[4], &fd)) {
#ifdef WANT_SECURITY_FILE_MPROTECT
            remember_mapping(ret, &fd);
#endif
#ifdef WANT_SECURITY_MMAP_FILE
            if ((b = dstart(EV_SECURITY_MMAP_FILE, ret))) {
                put_u64(b, P0, fd.fi.flags); put_u64(b, P0 + 8, fd.fi.dev); put_u64(b, P0 + 16, fd.fi.ino);
                put_u64(b, P0 + 24, fd.fi.ctime); put_u64(b, P0 + 32, s->a[2]); put_u64(b, P0 + 40, s->a[3]);
                put_u64(b, P0 + 48, NR_MMAP);
                set_off(P0 + 56);
                put_path(b, &fd.f->f_path);
                submit(ctx, b);
            }
#endif
#ifdef WANT_SHARED_OBJECT_LOADED
            if ((s->a[2] & PROT_EXEC_) && (b = dstart(EV_SHARED_OBJECT_LOADED, ret))) {
                put_u64(b, P0, fd.fi.flags); put_u64(b, P0 + 8, fd.fi.dev); put_u64(b, P0 + 16, fd.fi.ino);
                put_u64(b, P0 + 24, fd.fi.ctime);
                set_off(P0 + 32);
                put_path(b, &fd.f->f_path);
                submit(ctx, b);
            }
#endif
        }
    }
#endif
#ifdef WANT_SECURITY_FILE_MPROTECT
    if ((ev == NR_MPROTECT || ev == NR_PKEY_MPROTECT) && (b = dstart(EV_SECURITY_FILE_MPROTECT, ret))) {
        /* the file mapped at this start address, if this process mapped one there */
        struct region_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .addr = s->a[0]};
        struct mapped_file *m = mapped_files.lookup(&k);
        put_u64(b, P0, s->a[2]);
        put_u64(b, P0 + 8, m ? m->ctime : 0);
        set_off(P0 + 16);
        if (m) put_kernel_str(b, m->path); else put_marker(b, 0);
        submit(ctx, b);
    }
#endif
#if defined(WANT_VFS_WRITE) || defined(WANT_VFS_WRITEV)
    if ((ev == NR_WRITE || ev == NR_PWRITE64 || ev == NR_WRITEV || ev == NR_PWRITEV) && ret > 0) {
        int vec = ev == NR_WRITEV || ev == NR_PWRITEV;
        struct fd_info fd = {};
        u32 id = vec ? EV_VFS_WRITEV : EV_VFS_WRITE;
        int want = 0;
#ifdef WANT_VFS_WRITE
        if (!vec) want = 1;
#endif
#ifdef WANT_VFS_WRITEV
        if (vec) want = 1;
#endif
        if (want && fd_info_of(s->a[0], &fd) && (b = dstart(id, ret))) {
            s64 pos = 0;
            if (ev == NR_PWRITE64 || ev == NR_PWRITEV) pos = s->a[3];
            else { RD(pos, fd.f->f_pos); pos -= ret; }   /* the write moved f_pos by ret */
            if (pos < 0) pos = 0;                        /* pipes, sockets: no position */
            put_u64(b, P0, fd.fi.dev); put_u64(b, P0 + 8, fd.fi.ino);
            put_u64(b, P0 + 16, s->a[2]);                /* count / vlen */
            put_u64(b, P0 + 24, pos);
            set_off(P0 + 32);
            put_path(b, &fd.f->f_path);
            submit(ctx, b);
        }
    }
#endif
#ifdef WANT_SECURITY_KERNEL_POST_READ_FILE
    if (ev == NR_FINIT_MODULE) {
        struct fd_info fd = {};
        if (fd_info_of(s->a[0], &fd) && (b = dstart(EV_SECURITY_KERNEL_POST_READ_FILE, ret))) {
            struct inode *ino; s64 size = 0;
            RD(ino, fd.f->f_inode);
            RD(size, ino->i_size);
            put_u64(b, P0, size);
            put_u64(b, P0 + 8, 2);                   /* READING_KERNEL_MODULE */
            set_off(P0 + 16);
            put_path(b, &fd.f->f_path);
            submit(ctx, b);
        }
    }
#endif
#ifdef WANT_COMMIT_CREDS
    if (is_cred_syscall(ev)) {
        u32 tid = (u32)bpf_get_current_pid_tgid();
        struct slim_cred *old = cred_before.lookup(&tid);
        int zero = 0;
        struct slim_cred *now = cred_now.lookup(&zero);
        if (old && now) {
            __builtin_memset(now, 0, sizeof(*now));
            read_cred(now);
            int changed = 0;
            for (int i = 0; i < 15; i++) if (old->v[i] != now->v[i]) changed = 1;
            if (changed && (b = dstart(EV_COMMIT_CREDS, ret))) {
                put_u64(b, P0, ev);
                set_off(P0 + 8);
                put_blob_kernel(b, old, sizeof(*old));
                put_blob_kernel(b, now, sizeof(*now));
                submit(ctx, b);
            }
        }
        if (old) cred_before.delete(&tid);
    }
#endif
}
