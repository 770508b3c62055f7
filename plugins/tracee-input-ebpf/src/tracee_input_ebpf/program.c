/* Kernel side of tracee-input-ebpf: syscall/sched tracepoints -> Tracee events on a perf buffer.
 *
 * Compiled by BCC with vmlinux.h types (no <linux/...> includes). The Python side prepends
 * #defines: WANT_<EVENT> for each event to attach, CGROUP_V1_SUBSYS (-1 = cgroup v2) and
 * CGROUP_HIERARCHY_ID (of that hierarchy), HAVE_TP_* for optional tracepoints, the event ids
 * (EV_*), syscall numbers (NR_*), and the record layout generated from layout.py (struct hdr,
 * flags, argument kinds). Each record is a fixed header (struct hdr) followed by an event
 * payload: fixed numeric fields, then "items" ([u16 length][bytes]) for strings and blobs.
 * syscalls.bpf.c (appended) is the generic syscall path.
 *
 * Only tracepoints and raw tracepoints are used: kprobes/fentry/BPF-LSM are not required.
 */

#ifndef offsetof
#define offsetof(T, m) __builtin_offsetof(T, m)
#endif
#define container_of_(ptr, type, member) ((type *)((void *)(ptr) - offsetof(type, member)))
#define RD(dst, src) bpf_probe_read_kernel(&(dst), sizeof(dst), &(src))
/* Mask in a way clang cannot drop: the verifier must see the bound on the register it uses. */
#define BOUND(x, mask) ({ u64 _b = (x); asm volatile("%0 &= " #mask : "+r"(_b)); _b; })

#define BUFSZ 32768          /* per-CPU scratch for one record (the largest per-CPU value) */
#define HALF 16384           /* every item starts below HALF: offsets are masked with HALF-1 */
#define MAX_STR 4096
#define MAX_ARGS 32
#define MAX_ENV 64
#define PATH_HALF 4096
#define MAX_COMPONENTS 32
#define MAGIC_BYTES 20
#define PF_KTHREAD 0x00200000
#define S_IFMT 00170000
#define S_IFREG 0100000
#define O_APPEND_ 02000
#define PROT_WRITE_ 0x2
#define PROT_EXEC_ 0x4

/* config flags (F_*) are generated from layout.py */

#define CGROUP_PATH_TAIL 256
#define EXEC_CHUNKS 4        /* argv/env from the new mm: up to 4 items of MAX_STR bytes each */

/* struct hdr and the HF_/ARG_/SC_ constants come from layout.py (prepended by program.py) */

struct config {
    u32 self_pid;
    u32 flags;
    u32 host_mnt_ns;
    u32 host_pid_ns;
};
struct comm_key { char c[16]; };
struct uts_name { char name[65]; };
struct buf { u8 d[BUFSZ]; };
/* write offsets live in map memory, not registers: the verifier then sees every loop iteration
 * alike (precise register offsets make its states explode) */
/* fails: user reads that faulted; plen: length of the path walk_path left at p[poff] */
struct aux { u64 off; u64 poff; u64 fails; u64 plen;
             u64 ncomp; u64 pseudo; u64 names[MAX_COMPONENTS]; u64 lens[MAX_COMPONENTS];  /* walk_dentries */
             u8 p[PATH_HALF * 2]; };
struct cgroup_path { u8 p[CGROUP_PATH_TAIL]; };
struct region_key { u32 tgid; u32 pad; u64 addr; };

BPF_PERF_OUTPUT(events);
BPF_ARRAY(config_map, struct config, 1);
BPF_PERCPU_ARRAY(scratch, struct buf, 1);
BPF_PERCPU_ARRAY(aux_map, struct aux, 1);
BPF_PERCPU_ARRAY(counters, u64, 4);       /* 0: records not submitted (scratch/map failure);
                                           * 1: wanted syscall exits without their entry's arguments;
                                           * 2: events no loaded rule can match (kernel_filter.py) */
BPF_HASH(pid_filter, u32, u8, 1024);
BPF_HASH(comm_filter, struct comm_key, u8, 256);
BPF_HASH(uid_filter, u32, u8, 256);
BPF_HASH(mntns_filter, u32, u8, 256);      /* namespace inums, with F_MNTNS / F_PIDNS */
BPF_HASH(pidns_filter, u32, u8, 256);
BPF_TABLE("lru_hash", u32, u8, followed, 16384);
BPF_HASH(uts_names, u32, struct uts_name, 1024);
BPF_TABLE("lru_hash", u32, struct comm_key, exec_comm, 4096);        /* comm before execve */
BPF_TABLE("lru_hash", struct region_key, u32, regions, 16384);      /* mmap/mprotect prot */
/* cgroup id -> path (its last CGROUP_PATH_TAIL bytes), written when the cgroup is made: user space
 * resolves container ids from it even when the cgroup is gone by the time its events are read */
BPF_TABLE("lru_hash", u64, struct cgroup_path, cgroup_paths, 4096);
BPF_TABLE("lru_hash", u32, struct hdr, exec_pending, 1024);          /* execve held until exec */
/* cgroups of started containers (an exec outside the host's mount namespace): HF_STARTED */
BPF_TABLE("lru_hash", u64, u8, started_cgroups, 16384);
/* The inet_socket_fd state (kernel_filter.py, with F_FD_STATE): fds connect()ed to an AF_INET or
 * AF_INET6 address and their dups, per process, until closed or overwritten. Stale entries (fds
 * closed by exec or exit) only let more events out. */
struct fd_key { u32 tgid; u32 fd; };
BPF_TABLE("lru_hash", struct fd_key, u8, inet_fds, 65536);

static __always_inline struct config *cfg(void) {
    int zero = 0;
    return config_map.lookup(&zero);
}

static __always_inline struct aux *aux(void) {
    int zero = 0;
    return aux_map.lookup(&zero);
}

static __always_inline void set_off(u64 off) {
    struct aux *x = aux();
    if (x) x->off = off;
}

static __always_inline void count_at(int i) {
    u64 *c = counters.lookup(&i);
    if (c) (*c)++;
}

static __always_inline void count_drop(void) { count_at(0); }

/* events that no loaded rule can match, left in the kernel (kernel_filter.py) */
static __always_inline void count_filtered(void) { count_at(2); }

/* pid number of `p` as seen from pid-namespace level `level` (0 when not visible there) */
static __always_inline u32 pid_at_level(struct pid *p, u32 level) {
    u32 plevel = 0;
    if (!p) return 0;
    RD(plevel, p->level);
    if (plevel < level || level > 31) return 0;
    int nr = 0;
    bpf_probe_read_kernel(&nr, sizeof(nr), &p->numbers[level].nr);
    return nr;
}

static __always_inline int fd_tracked(u32 tgid, u64 fd) {
    if ((s64)fd < 0 || fd > 0x7fffffff) return 0;
    struct fd_key k = {.tgid = tgid, .fd = (u32)fd};
    return inet_fds.lookup(&k) != NULL;
}

static __always_inline void fd_track(u32 tgid, u64 fd, int on) {
    if ((s64)fd < 0 || fd > 0x7fffffff) return;
    struct fd_key k = {.tgid = tgid, .fd = (u32)fd};
    if (on) { u8 one = 1; inet_fds.update(&k, &one); }
    else inet_fds.delete(&k);
}

static __always_inline u32 task_level(struct task_struct *t) {
    struct pid *p; u32 level = 0;
    RD(p, t->thread_pid);
    if (p) RD(level, p->level);
    return level;
}

static __always_inline u32 ns_tgid_of(struct task_struct *t, u32 level) {
    struct task_struct *leader; struct pid *p;
    RD(leader, t->group_leader);
    RD(p, leader->thread_pid);
    return pid_at_level(p, level);
}

static __always_inline u64 task_cgroup_id(struct task_struct *t) {
#if CGROUP_V1_SUBSYS < 0
    return bpf_get_current_cgroup_id();
#else
    struct css_set *cs; struct cgroup_subsys_state *css; struct cgroup *cg; struct kernfs_node *kn;
    u64 id = 0;
    RD(cs, t->cgroups);
    RD(css, cs->subsys[CGROUP_V1_SUBSYS]);
    RD(cg, css->cgroup);
    RD(kn, cg->kn);
    RD(id, kn->id);
    return id;
#endif
}

static __always_inline int is_traced(struct config *c, struct task_struct *t, u32 tgid, u32 uid,
                                     u32 mnt_ns) {
    if (tgid == c->self_pid) return 0;
    u32 f = c->flags;
    if ((f & F_UID) && !uid_filter.lookup(&uid)) return 0;
    if ((f & F_CONTAINER) && mnt_ns == c->host_mnt_ns) return 0;
    if (f & (F_PID | F_COMM)) {
        int match = 1;
        if ((f & F_PID) && !pid_filter.lookup(&tgid)) match = 0;
        if (match && (f & F_COMM)) {
            struct comm_key k = {};
            bpf_get_current_comm(&k.c, sizeof(k.c));
            if (!comm_filter.lookup(&k)) match = 0;
        }
        if (!match && !((f & F_FOLLOW) && followed.lookup(&tgid))) return 0;
    }
    return 1;
}

/* Start a record in the per-CPU scratch: fill the header, apply the filters. NULL = skip. */
static __always_inline struct buf *start(u32 event_id, s64 ret, int internal) {
    struct config *c = cfg();
    if (!c || !(c->flags & F_READY)) return NULL;
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    struct nsproxy *nsp; struct mnt_namespace *mntns; struct pid_namespace *pidns;
    struct uts_namespace *utsns;
    u32 mnt_inum = 0, pid_inum = 0, uts_inum = 0;
    RD(nsp, t->nsproxy);
    if (nsp) {
        RD(mntns, nsp->mnt_ns);
        RD(mnt_inum, mntns->ns.inum);
        RD(pidns, nsp->pid_ns_for_children);
        RD(pid_inum, pidns->ns.inum);
        RD(utsns, nsp->uts_ns);
        RD(uts_inum, utsns->ns.inum);
    }
    u32 uid = (u32)bpf_get_current_uid_gid();
    if (!internal && !is_traced(c, t, tgid, uid, mnt_inum)) return NULL;
    if (!internal && (c->flags & F_MNTNS) && !mntns_filter.lookup(&mnt_inum)) return NULL;
    if (!internal && (c->flags & F_PIDNS) && !pidns_filter.lookup(&pid_inum)) return NULL;
    if (internal && tgid == c->self_pid) return NULL;
    int zero = 0;
    struct buf *b = scratch.lookup(&zero);
    if (!b) { count_drop(); return NULL; }
    struct hdr *h = (struct hdr *)b->d;
    h->ts = bpf_ktime_get_ns();
    RD(h->start_time, t->start_time);
    h->cgroup_id = task_cgroup_id(t);
    h->ret = ret;
    h->event_id = event_id;
    h->tid = (u32)id;
    h->pid = tgid;
    struct task_struct *parent;
    RD(parent, t->real_parent);
    RD(h->ppid, parent->tgid);
    u32 level = task_level(t);
    struct pid *p;
    RD(p, t->thread_pid);
    h->ns_tid = pid_at_level(p, level);
    h->ns_pid = ns_tgid_of(t, level);
    h->ns_ppid = ns_tgid_of(parent, level);
    h->uid = uid;
    h->mnt_ns = mnt_inum;
    h->pid_ns = pid_inum;
    h->uts_ns = uts_inum;
    h->cpu = bpf_get_smp_processor_id();
    h->flags = internal ? HF_INTERNAL : 0;
    if (started_cgroups.lookup(&h->cgroup_id)) h->flags |= HF_STARTED;
    bpf_get_current_comm(&h->comm, sizeof(h->comm));
    if (uts_inum && !uts_names.lookup(&uts_inum)) {
        struct uts_name n = {};
        bpf_probe_read_kernel_str(&n.name, sizeof(n.name), &utsns->name.nodename);
        uts_names.update(&uts_inum, &n);
    }
    return b;
}

static __always_inline void submit(void *ctx, struct buf *b) {
    struct aux *x = aux();
    if (!x) return;
    u64 n = x->off;
    if (n < sizeof(struct hdr)) n = sizeof(struct hdr);
    int r = events.perf_submit(ctx, b->d, BOUND(n, 0x7fff));
    /* -ENOSPC (ring full) comes back to user space as a lost-records count; anything else
     * (no reader on this CPU) is counted here: nothing is dropped silently */
    if (r < 0 && r != -ENOSPC) count_drop();
}

/* -- items: [u16 length][bytes], appended at b->off ------------------------------------------------ */
static __always_inline void put_len(struct buf *b, u64 off, u32 n) {
    b->d[BOUND(off, 0x3fff)] = n & 0xff;
    b->d[BOUND(off + 1, 0x3fff)] = (n >> 8) & 0xff;
}

static __always_inline void put_user_str(struct buf *b, const void *src) {
    struct aux *x = aux();
    if (!x) return;
    u64 off = x->off;
    if (off > HALF - 3) { ((struct hdr *)b->d)->flags |= HF_TRUNCATED; return; }   /* record full */
    int n = 0;
    if (src) n = bpf_probe_read_user_str(&b->d[BOUND(off + 2, 0x3fff)], MAX_STR, src);
    if (n < 0) { n = 0; x->fails++; }   /* a page not present: BPF cannot fault it in */
    put_len(b, off, n);
    x->off = off + 2 + n;
}

static __always_inline void put_kernel_str(struct buf *b, const void *src) {
    struct aux *x = aux();
    if (!x) return;
    u64 off = x->off;
    if (off > HALF - 3) { ((struct hdr *)b->d)->flags |= HF_TRUNCATED; return; }
    int n = 0;
    if (src) n = bpf_probe_read_kernel_str(&b->d[BOUND(off + 2, 0x3fff)], MAX_STR, src);
    if (n < 0) n = 0;
    put_len(b, off, n);
    x->off = off + 2 + n;
}

static __always_inline void put_user_blob(struct buf *b, const void *src, u64 len, u32 max) {
    struct aux *x = aux();
    if (!x) return;
    u64 off = x->off;
    if (off > HALF - 3) return;
    if (len > max) len = max;
    len = BOUND(len, 0x1fff);
    if (len > MAX_STR) len = MAX_STR;
    if (bpf_probe_read_user(&b->d[BOUND(off + 2, 0x3fff)], BOUND(len, 0x1fff), src) < 0) len = 0;
    put_len(b, off, len);
    x->off = off + 2 + len;
}

static __always_inline void put_marker(struct buf *b, u32 v) {
    struct aux *x = aux();
    if (!x) return;
    u64 off = x->off;
    if (off > HALF - 3) return;
    put_len(b, off, v);
    x->off = off + 2;
}

/* argv/envp arrays of user pointers: u16 count, then one item per string */
static __always_inline void put_user_str_array(struct buf *b, const char *const *arr, int max, int compat) {
    struct aux *x = aux();
    if (!x) return;
    u64 count_off = x->off;
    if (count_off > HALF - 3) return;
    x->off = count_off + 2;
    int i = 0;
    for (; i < MAX_ENV; i++) {
        if (i >= max) break;
        const char *p = NULL;
        if (!arr) break;
        if (compat) {            /* an ia32 task: 4-byte pointers */
            u32 p32 = 0;
            if (bpf_probe_read_user(&p32, sizeof(p32), (const u32 *)arr + i) < 0) { x->fails++; break; }
            p = (const char *)(u64)p32;
        } else if (bpf_probe_read_user(&p, sizeof(p), &arr[i]) < 0) { x->fails++; break; }
        if (!p) break;
        if (x->off > HALF - 3) { ((struct hdr *)b->d)->flags |= HF_TRUNCATED; break; }
        put_user_str(b, p);
    }
    put_len(b, count_off, i);
}

/* a NUL-separated user blob (mm->arg_start..arg_end) as u16 count + items of up to MAX_STR bytes */
static __always_inline void put_user_chunks(struct buf *b, u64 start, u64 end) {
    struct aux *x = aux();
    if (!x) return;
    u64 count_off = x->off;
    if (count_off > HALF - 3) return;
    x->off = count_off + 2;
    int i = 0;
    for (; i < EXEC_CHUNKS; i++) {
        if (start >= end) break;
        if (x->off > HALF - 3) { ((struct hdr *)b->d)->flags |= HF_TRUNCATED; break; }
        u64 len = end - start;
        if (len > MAX_STR) len = MAX_STR;
        put_user_blob(b, (const void *)start, len, MAX_STR);
        start += len;
    }
    if (start < end) ((struct hdr *)b->d)->flags |= HF_TRUNCATED;
    put_len(b, count_off, i);
}

static __always_inline void put_u64(struct buf *b, u32 off, u64 v) {
    /* fixed fields sit right after the header at constant offsets */
    if (off > BUFSZ - 8) return;
    *(u64 *)&b->d[off] = v;
}

/* -- files --------------------------------------------------------------------------------------- */
/* The calling task's file at `fd` (every caller asks about the current task). The fd table is
 * reached by BTF loads from bpf_get_current_task_btf(): plain loads, not helper calls. */
static __always_inline struct file *fd_file(struct task_struct *unused, int fd) {
    if (fd < 0) return NULL;
    struct task_struct *t = bpf_get_current_task_btf();
    struct files_struct *files = t->files;
    if (!files) return NULL;
    struct fdtable *fdt = files->fdt;
    if (!fdt || (unsigned int)fd >= fdt->max_fds) return NULL;
    struct file **fds = fdt->fd;
    return fds[fd];    /* a load from the BTF pointer's memory (PROBE_MEM), the value a plain pointer */
}

/* The path of `path` from the root of its mount namespace, written backwards into the per-CPU
 * path buffer ending at PATH_HALF-1; pb->poff is where it starts. Pseudo files (memfd, pipe) come
 * out as their name alone ("memfd:x"), as Tracee prints them. The write offset lives in map
 * memory so the verifier sees every loop iteration alike (a register offset explodes its states). */
/* d_parent and d_name sit side by side in struct dentry: one read gives both */
struct dentry_head { struct dentry *d_parent; struct qstr d_name; };
_Static_assert(offsetof(struct dentry, d_name) == offsetof(struct dentry, d_parent) + sizeof(void *),
               "struct dentry: d_name must follow d_parent");

/* struct mount from mnt_parent to mnt.mnt_root, in order: one read gives the three */
struct mount_head { struct mount *mnt_parent; struct dentry *mnt_mountpoint; struct dentry *mnt_root; };
_Static_assert(offsetof(struct mount, mnt_mountpoint) == offsetof(struct mount, mnt_parent) + sizeof(void *) &&
               offsetof(struct mount, mnt) == offsetof(struct mount, mnt_parent) + 2 * sizeof(void *) &&
               offsetof(struct vfsmount, mnt_root) == 0, "struct mount: unexpected layout");

#define PLEN_UNKNOWN 0xffffffffffffffffULL

/* A path in two steps, so that a filter can decide by its length before any name is read.
 * walk_dentries: the components from the leaf up to the root of the mount namespace (their name
 * pointers and lengths: pb->names/lens, ncomp of them, as many as fit the path buffer) and the
 * length of the path they make (pb->plen; PLEN_UNKNOWN for a pseudo file, pb->pseudo its dentry).
 * The running offset lives in map memory so the verifier sees every iteration alike. */
static __always_inline void walk_dentries(struct path pth, struct aux *pb) {
    struct dentry *dentry = pth.dentry;
    struct vfsmount *vfsmnt = pth.mnt;
    struct mount *mnt = container_of_(vfsmnt, struct mount, mnt);
    struct mount_head mh;
    bpf_probe_read_kernel(&mh, sizeof(mh), &mnt->mnt_parent);
    struct mount *mnt_parent = mh.mnt_parent;
    struct dentry *mnt_root = mh.mnt_root;
    pb->poff = PATH_HALF - 1;
    pb->ncomp = 0;
    pb->pseudo = 0;
    int i;
    for (i = 0; i < MAX_COMPONENTS; i++) {
        if (dentry == mnt_root) {
            if (mnt != mnt_parent) {                /* cross into the parent mount */
                dentry = mh.mnt_mountpoint;
                mnt = mnt_parent;
                bpf_probe_read_kernel(&mh, sizeof(mh), &mnt->mnt_parent);
                mnt_parent = mh.mnt_parent;
                mnt_root = mh.mnt_root;
                continue;
            }
            break;                                  /* namespace root */
        }
        struct dentry_head dh;
        bpf_probe_read_kernel(&dh, sizeof(dh), &dentry->d_parent);
        if (dentry == dh.d_parent) break;           /* pseudo or detached dentry */
        u64 len = dh.d_name.len;
        if (len > 255) len = 255;
        u64 off = pb->poff;
        if (off < len + 2 || off > PATH_HALF - 1) break;
        pb->poff = off - (len + 1);
        u64 n = pb->ncomp;
        pb->names[BOUND(n, 0x1f)] = (u64)dh.d_name.name;
        pb->lens[BOUND(n, 0x1f)] = len;
        pb->ncomp = n + 1;
        dentry = dh.d_parent;
    }
    if (pb->ncomp == 0) {
        if (dentry != mnt_root) { pb->pseudo = (u64)dentry; pb->plen = PLEN_UNKNOWN; return; }
        pb->plen = 1;                               /* "/" */
        return;
    }
    pb->plen = PATH_HALF - 1 - pb->poff;
}

/* write_names: the path's bytes at pb->p[poff], plen of them and a NUL. Pseudo files (memfd,
 * pipe) come out as their name alone ("memfd:x"), as Tracee prints them. */
static __always_inline void write_names(struct aux *pb) {
    pb->p[PATH_HALF - 1] = 0;
    if (pb->ncomp == 0) {
        if (pb->pseudo) {
            struct qstr name;
            RD(name, ((struct dentry *)pb->pseudo)->d_name);
            long n = bpf_probe_read_kernel_str(&pb->p[0], 256, name.name);
            pb->poff = 0;
            pb->plen = n > 0 ? n - 1 : 0;
            return;
        }
        pb->p[PATH_HALF - 2] = '/';
        pb->poff = PATH_HALF - 2;
        pb->plen = 1;
        return;
    }
    pb->poff = PATH_HALF - 1;
    int i;
    for (i = 0; i < MAX_COMPONENTS; i++) {
        if (i >= pb->ncomp) break;
        u64 len = pb->lens[BOUND(i, 0x1f)];
        u64 off = pb->poff;
        if (off < len + 2 || off > PATH_HALF - 1) break;
        off -= len + 1;
        bpf_probe_read_kernel(&pb->p[BOUND(off + 1, 0xfff)], BOUND(len, 0xff), (const void *)pb->names[BOUND(i, 0x1f)]);
        pb->p[BOUND(off, 0xfff)] = '/';
        pb->poff = off;
    }
    pb->plen = PATH_HALF - 1 - pb->poff;
}

static __always_inline void walk_path_of(struct path pth, struct aux *pb) {
    walk_dentries(pth, pb);
    write_names(pb);
}

static __always_inline void walk_path(const struct path *path_ptr, struct aux *pb) {
    struct path pth;
    bpf_probe_read_kernel(&pth, sizeof(pth), path_ptr);
    walk_path_of(pth, pb);
}

static __always_inline void put_path(struct buf *b, const struct path *path) {
    struct aux *pb = aux();
    if (!pb || !path) { put_kernel_str(b, NULL); return; }
    walk_path(path, pb);
    put_kernel_str(b, &pb->p[BOUND(pb->poff, 0xfff)]);
}

struct file_info { u64 dev, ino, ctime; u32 mode, flags; };

static __always_inline void file_info(struct file *f, struct file_info *fi) {
    struct inode *ino; struct super_block *sb;
    u32 dev = 0; u64 sec = 0; u32 nsec = 0; u16 mode = 0; unsigned int flags = 0;
    RD(ino, f->f_inode);
    RD(flags, f->f_flags);
    RD(sb, ino->i_sb);
    RD(dev, sb->s_dev);
    RD(fi->ino, ino->i_ino);
    RD(sec, ino->i_ctime_sec);
    RD(nsec, ino->i_ctime_nsec);
    RD(mode, ino->i_mode);
    fi->dev = dev;
    /* bit 31 of i_ctime_nsec is the multigrain "queried" flag (6.13+), not time */
    fi->ctime = sec * 1000000000ULL + (nsec & 0x3fffffff);
    fi->mode = mode;
    fi->flags = flags;
}

/* user pt_regs at syscall exit: the syscall's arguments are still there */
static __always_inline void syscall_args(u64 a[6]) {
    struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    a[0] = r->di; a[1] = r->si; a[2] = r->dx; a[3] = r->r10; a[4] = r->r8; a[5] = r->r9;   /* BTF loads */
}

#define P0 (sizeof(struct hdr))

/* -- execve: at entry, as Tracee (the caller's image is gone at exit); also remembers the comm
 * before exec for security_bprm_check (the web server's name, not the shell's) ----------------
 * A BPF program cannot fault pages in: strings on pages the caller has not touched yet (string
 * literals of a freshly forked child: fork copies no page-table entries for file-backed
 * mappings) read as faults at entry. Such an execve is held (its header, in exec_pending) and
 * emitted when the exec completes, with pathname = bprm->filename and argv/envp from the new
 * mm, which the kernel has just written (flag HF_AFTER_EXEC), or, when the exec fails, at
 * sys_exit_execve from the caller's pointers again (the kernel's own copy has faulted them in
 * as far as it got), with execve's return value. */
#ifdef WANT_SECURITY_BPRM_CHECK
static __always_inline void save_comm(void) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct comm_key k = {};
    bpf_get_current_comm(&k.c, sizeof(k.c));
    exec_comm.update(&tgid, &k);
}
TRACEPOINT_PROBE(syscalls, sys_enter_execveat) { save_comm(); return 0; }
#endif

#if defined(WANT_EXECVE) || defined(WANT_SECURITY_BPRM_CHECK)
TRACEPOINT_PROBE(syscalls, sys_enter_execve) {
#ifdef WANT_SECURITY_BPRM_CHECK
    save_comm();
#endif
#ifdef WANT_EXECVE
    struct buf *b = start(EV_EXECVE, 0, 0);
    if (!b) return 0;
    struct config *c = cfg();
    struct aux *x = aux();
    if (!x) return 0;
    x->fails = 0;
    set_off(P0);
    put_user_str(b, args->filename);
    put_user_str_array(b, (const char *const *)args->argv, MAX_ARGS, 0);
    if (c && (c->flags & F_EXEC_ENV)) {
        put_user_str_array(b, (const char *const *)args->envp, MAX_ENV, 0);
    } else {
        put_marker(b, 0xffff);   /* env not captured */
    }
    if (x->fails) {
        u32 tid = (u32)bpf_get_current_pid_tgid();
        exec_pending.update(&tid, (struct hdr *)b->d);
        return 0;
    }
    submit(args, b);
#endif
    return 0;
}
#endif

#ifdef WANT_EXECVE
/* A held execve: a scratch record with the caller's header (context at entry); NULL = none held */
static __always_inline struct buf *take_pending(u32 tid) {
    struct hdr *saved = exec_pending.lookup(&tid);
    if (!saved) return NULL;
    int zero = 0;
    struct buf *b = scratch.lookup(&zero);
    if (!b) { exec_pending.delete(&tid); count_drop(); return NULL; }
    __builtin_memcpy(b->d, saved, sizeof(struct hdr));
    exec_pending.delete(&tid);
    return b;
}

/* Called first by the sched_process_exec probe: the execve record comes before
 * security_bprm_check and sched_process_exec, as when it is emitted at entry. */
static __always_inline void emit_pending_execve(void *ctx, struct task_struct *t, u32 old_pid,
                                                struct linux_binprm *bprm) {
    struct buf *b = take_pending(old_pid);
    if (!b) return;
    struct config *c = cfg();
    ((struct hdr *)b->d)->flags |= HF_AFTER_EXEC;
    set_off(P0);
    const char *filename;
    RD(filename, bprm->filename);
    put_kernel_str(b, filename);
    struct mm_struct *mm;
    u64 as = 0, ae = 0, es = 0, ee = 0;
    RD(mm, t->mm);
    RD(as, mm->arg_start);
    RD(ae, mm->arg_end);
    put_user_chunks(b, as, ae);
    if (c && (c->flags & F_EXEC_ENV)) {
        RD(es, mm->env_start);
        RD(ee, mm->env_end);
        put_user_chunks(b, es, ee);
    } else {
        put_marker(b, 0xffff);
    }
    submit(ctx, b);
}

TRACEPOINT_PROBE(syscalls, sys_exit_execve) {
    /* still held: the exec failed (a successful one took it at sched_process_exec) */
    struct buf *b = take_pending((u32)bpf_get_current_pid_tgid());
    if (!b) return 0;
    struct config *c = cfg();
    ((struct hdr *)b->d)->ret = args->ret;
    u64 a[6];
    syscall_args(a);
    set_off(P0);
    put_user_str(b, (const void *)a[0]);
    put_user_str_array(b, (const char *const *)a[1], MAX_ARGS, 0);
    if (c && (c->flags & F_EXEC_ENV)) {
        put_user_str_array(b, (const char *const *)a[2], MAX_ENV, 0);
    } else {
        put_marker(b, 0xffff);
    }
    submit(args, b);
    return 0;
}
#endif

/* -- sched_process_exec (+ security_bprm_check) -------------------------------------------------- */
RAW_TRACEPOINT_PROBE(sched_process_exec) {
    struct task_struct *t = (struct task_struct *)ctx->args[0];
    struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
    struct config *c = cfg();
    if (!c) return 0;
#ifdef WANT_EXECVE
    emit_pending_execve(ctx, t, (u32)ctx->args[1], bprm);
#endif
    struct file *f;
    RD(f, bprm->file);
    struct file_info fi = {};
    file_info(f, &fi);
#ifdef WANT_SECURITY_BPRM_CHECK
    {
        struct buf *b = start(EV_SECURITY_BPRM_CHECK, 0, 0);
        if (b) {
            u32 tgid = bpf_get_current_pid_tgid() >> 32;
            struct comm_key *old = exec_comm.lookup(&tgid);
            if (old) __builtin_memcpy(((struct hdr *)b->d)->comm, old->c, 16);
            put_u64(b, P0, fi.dev);
            put_u64(b, P0 + 8, fi.ino);
            set_off(P0 + 16);
    put_path(b, &f->f_path);
            submit(ctx, b);
        }
    }
#endif
#ifdef WANT_LOAD_ELF_PHDRS
    {   /* load_elf_phdrs (derived layout): the executed file, as the ELF loader reads it */
        struct buf *b = start(EV_LOAD_ELF_PHDRS, 0, 0);
        if (b) {
            ((struct hdr *)b->d)->flags |= HF_DERIVED;
            put_u64(b, P0, fi.dev);
            put_u64(b, P0 + 8, fi.ino);
            set_off(P0 + 16);
            put_path(b, &f->f_path);
            submit(ctx, b);
        }
    }
#endif
    /* sched_process_exec: always attached: an exec outside the host's mount namespace marks its
     * cgroup started here, so every later record of it carries HF_STARTED, on any CPU */
    int internal = !(c->flags & F_WANT_EXEC);
    {
        struct nsproxy *nsp; struct mnt_namespace *mntns; u32 mnt_inum = 0;
        RD(nsp, t->nsproxy);
        RD(mntns, nsp->mnt_ns);
        RD(mnt_inum, mntns->ns.inum);
        if (mnt_inum == c->host_mnt_ns) {
            if (internal) return 0;
        } else {
            u64 cg = task_cgroup_id(t);
            u8 one = 1;
            started_cgroups.update(&cg, &one);
        }
    }
    struct buf *b = start(EV_SCHED_PROCESS_EXEC, 0, internal);
    if (!b) return 0;
    if (internal) { set_off(P0); submit(ctx, b); return 0; }
    struct task_struct *parent;
    u32 pflags = 0;
    RD(parent, t->real_parent);
    RD(pflags, parent->flags);
    struct file *in = fd_file(t, 0);
    u32 stdin_mode = 0;
    if (in) {
        struct inode *ino;
        u16 m = 0;
        RD(ino, in->f_inode);
        RD(m, ino->i_mode);
        stdin_mode = m;
    }
    put_u64(b, P0, fi.dev);
    put_u64(b, P0 + 8, fi.ino);
    put_u64(b, P0 + 16, fi.ctime);
    put_u64(b, P0 + 24, ((u64)stdin_mode << 32) | fi.mode);
    put_u64(b, P0 + 32, (pflags & PF_KTHREAD) ? 1 : 0);
    const char *filename, *interp;
    RD(filename, bprm->filename);
    RD(interp, bprm->interp);
    set_off(P0 + 40);
    put_kernel_str(b, filename);
    put_path(b, &f->f_path);
    put_kernel_str(b, interp);
    struct mm_struct *mm;
    u64 as = 0, ae = 0, es = 0, ee = 0;
    RD(mm, t->mm);
    RD(as, mm->arg_start);
    RD(ae, mm->arg_end);
    put_user_blob(b, (const void *)as, ae - as, MAX_STR);
    if (c->flags & F_EXEC_ENV) {
        RD(es, mm->env_start);
        RD(ee, mm->env_end);
        put_user_blob(b, (const void *)es, ee - es, MAX_STR);
    } else {
        put_marker(b, 0xffff);
    }
    submit(ctx, b);
    return 0;
}

/* -- cgroup_mkdir/rmdir events: [cgroup_id, hierarchy_id] + path item (derived layout) -------- */
static __always_inline void emit_cgroup_dir(void *args, u32 id, u64 cgroup_id, int root, u32 loc) {
    struct buf *b = start(id, 0, 0);
    if (!b) return;
    ((struct hdr *)b->d)->flags |= HF_DERIVED;
    put_u64(b, P0, cgroup_id);
    put_u64(b, P0 + 8, (u32)root);
    set_off(P0 + 16);
    put_kernel_str(b, (const char *)args + BOUND(loc & 0xFFFF, 0xffff));
    submit(args, b);
}

/* -- cgroups: remember each new cgroup's path (container tracking, always attached) ----------- */
#ifdef HAVE_TP_CGROUP_MKDIR
TRACEPOINT_PROBE(cgroup, cgroup_mkdir) {
#ifdef WANT_CGROUP_MKDIR
    emit_cgroup_dir(args, EV_CGROUP_MKDIR, args->id, args->root, args->data_loc_path);
#endif
    if (args->root != CGROUP_HIERARCHY_ID) return 0;   /* ids are per hierarchy */
    u64 id = args->id;
    struct cgroup_path v = {};
    u32 loc = args->data_loc_path;
    u32 len = loc >> 16;                               /* with its NUL */
    u64 off = loc & 0xFFFF;
    if (len > CGROUP_PATH_TAIL) off += len - CGROUP_PATH_TAIL;   /* keep the tail: the id is last */
    bpf_probe_read_kernel_str(&v.p, sizeof(v.p), (const char *)args + BOUND(off, 0xffff));
    cgroup_paths.update(&id, &v);
    return 0;
}
#endif

/* -- sched_process_exit ---------------------------------------------------------------------------- */
#if defined(WANT_SCHED_PROCESS_EXIT) || defined(WANT_DO_EXIT)
TRACEPOINT_PROBE(sched, sched_process_exit) {
#ifdef WANT_DO_EXIT
    {   /* do_exit (no arguments): the same point of the exiting task */
        struct buf *d = start(EV_DO_EXIT, 0, 0);
        if (d) { ((struct hdr *)d->d)->flags |= HF_DERIVED; set_off(P0); submit(args, d); }
    }
#endif
#ifndef WANT_SCHED_PROCESS_EXIT
    return 0;
#endif
    struct buf *b = start(EV_SCHED_PROCESS_EXIT, 0, 0);
    if (!b) return 0;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    int code = 0;
    RD(code, t->exit_code);
    put_u64(b, P0, (u64)(s64)code);
    put_u64(b, P0 + 8, args->group_dead ? 1 : 0);
    set_off(P0 + 16);
    submit(args, b);
    return 0;
}
#endif

/* follow children of traced processes */
#ifdef WANT_FOLLOW
TRACEPOINT_PROBE(sched, sched_process_fork) {
    struct config *c = cfg();
    if (!c || !(c->flags & F_FOLLOW)) return 0;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u32 uid = (u32)bpf_get_current_uid_gid();
    struct config loose = *c;
    loose.flags &= ~(F_UID | F_CONTAINER);    /* follow by pid/comm lineage only */
    if (!is_traced(&loose, t, tgid, uid, 0)) return 0;
    u32 child = args->child_pid;
    u8 one = 1;
    followed.update(&child, &one);
    return 0;
}
#endif

/* -- security_file_open: successful open/openat/openat2/creat, from the new fd --------------------- */
#ifdef WANT_SECURITY_FILE_OPEN
/* The loaded rules' selectors of security_file_open as bit masks over rows (kernel_filter.py
 * compiles them; F_OPEN_FILTER switches the check on). A row survives when its origin, flags and
 * comm conditions hold; the path is walked only if one does, then each pathname condition (a bit)
 * is one hash lookup per distinct value length a surviving row needs. */
#define MAX_PATTERN 127
#define MAX_LENGTHS 16
#define FLAG_MASKS 4
struct path_key { u16 kind; u16 len; u32 pad; u8 s[MAX_PATTERN + 1]; };
struct open_conf {
    u64 container_rows, comm_in_rows, comm_notin_rows, eq_rows, all_rows;
    u32 n_masks, n_prefix, n_suffix, n_bits;
    u32 flag_mask[FLAG_MASKS];
    u64 flag_rows[FLAG_MASKS];
    u64 flag_allowed[FLAG_MASKS * 64];     /* [mask j * 64 + value of flags & mask]: rows allowed */
    u32 prefix_len[MAX_LENGTHS];
    u32 suffix_len[MAX_LENGTHS];
    u64 prefix_rows[MAX_LENGTHS];
    u64 suffix_rows[MAX_LENGTHS];
    u64 need_rows[64];                     /* pathname bit -> rows that need it */
    u16 min_len[64];                       /* pathname bit -> the lengths a path can have to meet it */
    u16 max_len[64];
};
BPF_ARRAY(open_conf, struct open_conf, 1);
BPF_HASH(open_comms, struct comm_key, u64, 256);        /* comm -> rows whose comm set holds it */
BPF_HASH(open_paths, struct path_key, u64, 1024);       /* (kind, length, bytes) -> pathname bits */
BPF_PERCPU_ARRAY(path_key_scratch, struct path_key, 1);

/* The rows whose origin, flags and comm conditions hold: the cheapest first, reads only when
 * a row still depends on them. "comm not in" rarely decides: it waits until after the path's
 * length (open_comm_notin). */
static __always_inline u64 open_rows_alive(struct open_conf *oc, struct config *c, u32 flags) {
    u64 alive = oc->all_rows;
    for (int j = 0; j < FLAG_MASKS; j++) {
        if (j >= oc->n_masks) break;
        u32 v = flags & oc->flag_mask[j] & 63;
        alive &= ~(oc->flag_rows[j] & ~oc->flag_allowed[BOUND(j * 64 + v, 0xff)]);
    }
    if (alive & oc->container_rows) {
        struct task_struct *t = bpf_get_current_task_btf();
        if (t->nsproxy->mnt_ns->ns.inum == c->host_mnt_ns) alive &= ~oc->container_rows;  /* BTF loads */
    }
    if (alive & oc->comm_in_rows) {
        struct comm_key k = {};
        bpf_get_current_comm(&k.c, sizeof(k.c));
        u64 *m = open_comms.lookup(&k);
        alive &= ~(oc->comm_in_rows & ~(m ? *m : 0));
    }
    return alive;
}

static __always_inline u64 open_comm_notin(struct open_conf *oc, u64 alive) {
    if (!(alive & oc->comm_notin_rows)) return alive;
    struct comm_key k = {};
    bpf_get_current_comm(&k.c, sizeof(k.c));
    u64 *m = open_comms.lookup(&k);
    return alive & ~(oc->comm_notin_rows & (m ? *m : 0));
}

static __always_inline u64 path_bits_of(struct path_key *k, struct aux *pb, u16 kind, u64 start, u64 len) {
    if (len == 0 || len > MAX_PATTERN) return 0;
    __builtin_memset(k, 0, sizeof(*k));
    k->kind = kind;
    k->len = len;
    bpf_probe_read_kernel(k->s, BOUND(len, 0x7f), &pb->p[BOUND(start, 0xfff)]);
    u64 *bits = open_paths.lookup(k);
    return bits ? *bits : 0;
}

/* The rows that a path of plen bytes can still satisfy (before any name is read). */
static __always_inline u64 open_length_alive(struct open_conf *oc, u64 alive, u64 plen) {
    for (int b = 0; b < 64; b++) {
        if (b >= oc->n_bits) break;
        if (plen < oc->min_len[b] || plen > oc->max_len[b]) alive &= ~oc->need_rows[b];
    }
    return alive;
}

/* Whether a row survives the pathname conditions (the path is at pb->p[poff], plen bytes). */
static __always_inline int open_path_passes(struct open_conf *oc, u64 alive, struct aux *pb) {
    int zero = 0;
    struct path_key *k = path_key_scratch.lookup(&zero);
    if (!k) return 1;                       /* cannot tell: let it through */
    u64 start = pb->poff, plen = pb->plen, bits = 0;
    if (oc->eq_rows & alive) bits |= path_bits_of(k, pb, 1, start, plen);
    for (int i = 0; i < MAX_LENGTHS; i++) {
        if (i >= oc->n_prefix) break;
        u64 n = oc->prefix_len[i];
        if ((oc->prefix_rows[i] & alive) && n <= plen) bits |= path_bits_of(k, pb, 2, start, n);
    }
    for (int i = 0; i < MAX_LENGTHS; i++) {
        if (i >= oc->n_suffix) break;
        u64 n = oc->suffix_len[i];
        if ((oc->suffix_rows[i] & alive) && n <= plen) bits |= path_bits_of(k, pb, 3, start + plen - n, n);
    }
    for (int b = 0; b < 64; b++) {
        if (b >= oc->n_bits) break;
        if (!((bits >> b) & 1)) alive &= ~oc->need_rows[b];
    }
    return alive != 0;
}

/* At the exit of an open (nr: its x86-64 number, for an ia32 call the equivalent one; a: its
 * arguments), from the raw sys_exit probe, which runs for every syscall anyway: no tracepoint
 * program of its own to invoke for each open. */
static __always_inline int emit_file_open(void *ctx, long ret, u32 nr, u64 a[6]) {
    if (ret < 0) return 0;
    struct config *c = cfg();
    if (!c) return 0;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    struct file *f = fd_file(t, ret);
    if (!f) return 0;
    /* do_dentry_open clears the open-time bits from f_flags after the LSM hook saw them:
     * take them from the syscall's own flags, so O_CREAT|O_TRUNC show as Tracee prints them */
    u64 uflags = 0;
    if (nr == NR_OPENAT) uflags = a[2];
    else if (nr == NR_OPEN) uflags = a[1];
    else if (nr == NR_CREAT) uflags = 01 | 0100 | 01000;                 /* creat: O_WRONLY|O_CREAT|O_TRUNC */
    else if (nr == NR_OPENAT2) bpf_probe_read_user(&uflags, sizeof(uflags), (const void *)a[2]);  /* open_how.flags */
    /* f_flags through f_path in one read (the filter needs both) */
    struct file_head { unsigned int f_flags; u8 mid[offsetof(struct file, f_path) - offsetof(struct file, f_flags) - 4];
                       struct path f_path; } fh;
    _Static_assert(offsetof(struct file, f_path) > offsetof(struct file, f_flags), "struct file: unexpected layout");
    bpf_probe_read_kernel(&fh, sizeof(fh), &f->f_flags);
    u32 flags = fh.f_flags | (uflags & (0100 | 0200 | 0400 | 01000));   /* O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC */
    struct aux *pb = aux();
    if (!pb) return 0;
    int zero = 0;
    struct open_conf *oc = (c->flags & F_OPEN_FILTER) ? open_conf.lookup(&zero) : NULL;
    if (oc) {          /* the rules' filter: cheap conditions, then the path, before the record */
        u64 alive = open_rows_alive(oc, c, flags);
        if (!alive) { count_filtered(); return 0; }
        walk_dentries(fh.f_path, pb);
        if (pb->plen != PLEN_UNKNOWN) alive = open_length_alive(oc, alive, pb->plen);
        alive = open_comm_notin(oc, alive);
        if (!alive) { count_filtered(); return 0; }      /* decided before any name is read */
        write_names(pb);
        if (!open_path_passes(oc, alive, pb)) { count_filtered(); return 0; }
    }
    struct buf *b = start(EV_SECURITY_FILE_OPEN, 0, 0);
    if (!b) return 0;
    if (!oc) walk_path_of(fh.f_path, pb);
    struct file_info fi = {};
    file_info(f, &fi);
    put_u64(b, P0, fi.dev);
    put_u64(b, P0 + 8, fi.ino);
    put_u64(b, P0 + 16, fi.ctime);
    put_u64(b, P0 + 24, ((u64)nr << 32) | flags);
    set_off(P0 + 32);
    put_kernel_str(b, &pb->p[BOUND(pb->poff, 0xfff)]);
    const void *upath = (const void *)(nr == NR_OPENAT || nr == NR_OPENAT2 ? a[1] : a[0]);
    put_user_str(b, upath);
    submit(ctx, b);
    return 0;
}
#define IA32_OPEN 5
#define IA32_CREAT 8
#define IA32_OPENAT 295
#define IA32_OPENAT2 437
/* The open calls among all syscall exits (raw sys_exit, syscalls.bpf.c): the x86-64 number of
 * the call, also for ia32 calls (their own numbers, 32-bit registers), or 0. */
static __always_inline u32 open_call(long nr, struct pt_regs *regs, u64 a[6]) {
    if (nr != NR_OPENAT && nr != NR_OPEN && nr != NR_CREAT && nr != NR_OPENAT2 && nr != IA32_OPEN
        && nr != IA32_CREAT && nr != IA32_OPENAT && nr != IA32_OPENAT2) return 0;   /* no load for the rest */
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->thread_info.status & TS_COMPAT) {
        a[0] = (u32)regs->bx; a[1] = (u32)regs->cx; a[2] = (u32)regs->dx; a[3] = (u32)regs->si;
        a[4] = (u32)regs->di; a[5] = (u32)regs->bp;
        return nr == IA32_OPEN ? NR_OPEN : nr == IA32_CREAT ? NR_CREAT : nr == IA32_OPENAT ? NR_OPENAT
             : nr == IA32_OPENAT2 ? NR_OPENAT2 : 0;
    }
    if (nr != NR_OPENAT && nr != NR_OPEN && nr != NR_CREAT && nr != NR_OPENAT2) return 0;
    a[0] = regs->di; a[1] = regs->si; a[2] = regs->dx; a[3] = regs->r10; a[4] = regs->r8; a[5] = regs->r9;
    return nr;
}
#endif

/* -- security_socket_connect: connect(2) attempts, address read from the caller ------------------- */
#ifdef WANT_SECURITY_SOCKET_CONNECT
TRACEPOINT_PROBE(syscalls, sys_exit_connect) {
    u64 a[6];
    syscall_args(a);
    struct config *c = cfg();
    if (c && (c->flags & F_FD_STATE)) {          /* any result: TRC-1 remembers every attempt */
        u16 family = 0;
        bpf_probe_read_user(&family, sizeof(family), (const void *)a[1]);
        fd_track(bpf_get_current_pid_tgid() >> 32, a[0], family == 2 || family == 10);
    }
    struct buf *b = start(EV_SECURITY_SOCKET_CONNECT, args->ret, 0);
    if (!b) return 0;
    put_u64(b, P0, a[0]);
    u64 len = a[2];
    if (len > 128) len = 128;
    set_off(P0 + 8);
    put_user_blob(b, (const void *)a[1], len, 128);
    submit(args, b);
    return 0;
}
#endif

/* -- security_sb_mount: mount(2) attempts ------------------------------------------------------------ */
#ifdef WANT_SECURITY_SB_MOUNT
TRACEPOINT_PROBE(syscalls, sys_exit_mount) {
    struct buf *b = start(EV_SECURITY_SB_MOUNT, args->ret, 0);
    if (!b) return 0;
    u64 a[6];
    syscall_args(a);
    put_u64(b, P0, a[3]);
    set_off(P0 + 8);
    put_user_str(b, (const void *)a[0]);
    put_user_str(b, (const void *)a[1]);
    put_user_str(b, (const void *)a[2]);
    submit(args, b);
    return 0;
}
#endif

/* -- security_kernel_read_file (finit_module) and init_module on kernels without their tracepoints ---
 * A kernel built without module support has no sys_*_init_module tracepoints: the raw sys_exit
 * tracepoint sees the attempts (they fail with ENOSYS). Attached only when these events are asked. */
#if defined(WANT_SECURITY_KERNEL_READ_FILE)
static __always_inline int emit_read_file(void *ctx, long ret, int fd) {
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    struct file *f = fd_file(t, fd);
    if (!f) return 0;
    struct buf *b = start(EV_SECURITY_KERNEL_READ_FILE, ret, 0);
    if (!b) return 0;
    struct file_info fi = {};
    file_info(f, &fi);
    put_u64(b, P0, fi.dev);
    put_u64(b, P0 + 8, fi.ino);
    put_u64(b, P0 + 16, fi.ctime);
    put_u64(b, P0 + 24, 2);   /* READING_KERNEL_MODULE */
    set_off(P0 + 32);
    put_path(b, &f->f_path);
    submit(ctx, b);
    return 0;
}
#ifdef HAVE_TP_FINIT_MODULE
TRACEPOINT_PROBE(syscalls, sys_exit_finit_module) {
    u64 a[6];
    syscall_args(a);
    return emit_read_file(args, args->ret, (int)a[0]);
}
#endif
#endif

/* On kernels without the finit_module tracepoint (no module support) the generic sys_exit
 * probe (syscalls.bpf.c) calls raw_finit_module_exit. */
#if defined(WANT_SECURITY_KERNEL_READ_FILE) && !defined(HAVE_TP_FINIT_MODULE)
#define RAW_FINIT_MODULE 1
static __always_inline void raw_finit_module_exit(void *ctx, struct pt_regs *regs, long ret) {
    long nr = 0;
    bpf_probe_read_kernel(&nr, sizeof(nr), &regs->orig_ax);
    if (nr != NR_FINIT_MODULE) return;
    long fd = 0;
    bpf_probe_read_kernel(&fd, sizeof(fd), &regs->di);
    emit_read_file(ctx, ret, (int)fd);
}
#endif

/* -- magic_write: the first bytes written to a regular file at offset 0 ----------------------------- */
#ifdef WANT_MAGIC_WRITE
static __always_inline int emit_magic(void *ctx, int fd, const void *ubuf, u64 count, s64 pos, int use_fpos) {
    if (!ubuf || count == 0) return 0;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    struct file *f = fd_file(t, fd);
    if (!f) return 0;
    struct file_info fi = {};
    file_info(f, &fi);
    if ((fi.mode & S_IFMT) != S_IFREG) return 0;
    if (use_fpos) {
        RD(pos, f->f_pos);
        if (fi.flags & O_APPEND_) {
            struct inode *ino; s64 size = 0;
            RD(ino, f->f_inode);
            RD(size, ino->i_size);
            if (size > 0) return 0;
        }
    }
    if (pos != 0) return 0;
    struct buf *b = start(EV_MAGIC_WRITE, 0, 0);
    if (!b) return 0;
    put_u64(b, P0, fi.dev);
    put_u64(b, P0 + 8, fi.ino);
    set_off(P0 + 16);
    put_user_blob(b, ubuf, count, MAGIC_BYTES);
    put_path(b, &f->f_path);
    submit(ctx, b);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    return emit_magic(args, args->fd, args->buf, args->count, 0, 1);
}
TRACEPOINT_PROBE(syscalls, sys_enter_pwrite64) {
    return emit_magic(args, args->fd, args->buf, args->count, args->pos, 0);
}
TRACEPOINT_PROBE(syscalls, sys_enter_writev) {
    struct iovec iov = {};
    if (args->vlen < 1) return 0;
    bpf_probe_read_user(&iov, sizeof(iov), args->vec);
    return emit_magic(args, args->fd, iov.iov_base, iov.iov_len, 0, 1);
}
TRACEPOINT_PROBE(syscalls, sys_enter_pwritev) {
    struct iovec iov = {};
    if (args->vlen < 1) return 0;
    bpf_probe_read_user(&iov, sizeof(iov), args->vec);
    return emit_magic(args, args->fd, iov.iov_base, iov.iov_len, (s64)args->pos_l, 0);
}
#endif

/* -- mem_prot_alert: W+X mappings and protection changes, tracked per (process, address) ----------- */
#ifdef WANT_MEM_PROT_ALERT
static __always_inline int emit_alert(void *ctx, u32 alert) {
    struct buf *b = start(EV_MEM_PROT_ALERT, 0, 0);
    if (!b) return 0;
    put_u64(b, P0, alert);
    set_off(P0 + 8);
    submit(ctx, b);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_mmap) {
    long ret = args->ret;
    if (ret < 0 && ret > -4096) return 0;
    u64 a[6];
    syscall_args(a);
    u32 prot = a[2];
    struct region_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .addr = (u64)ret};
    if (prot & (PROT_WRITE_ | PROT_EXEC_)) regions.update(&k, &prot);
    else regions.delete(&k);
    if ((prot & (PROT_WRITE_ | PROT_EXEC_)) == (PROT_WRITE_ | PROT_EXEC_)) return emit_alert(args, 1);
    return 0;
}
static __always_inline int on_mprotect(void *ctx, long ret) {
    if (ret < 0) return 0;
    u64 a[6];
    syscall_args(a);
    u32 prot = a[2];
    struct region_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .addr = a[0]};
    u32 *prev_p = regions.lookup(&k);
    u32 alert = 0;
    if (prev_p) {
        u32 prev = *prev_p;
        if (!(prev & PROT_EXEC_) && (prot & PROT_EXEC_)) alert = 2;
        else if ((prev & PROT_EXEC_) && !(prev & PROT_WRITE_) && (prot & PROT_WRITE_) && (prot & PROT_EXEC_)) alert = 3;
        else if ((prev & PROT_WRITE_) && (prev & PROT_EXEC_) && !(prot & PROT_WRITE_) && (prot & PROT_EXEC_)) alert = 4;
    } else if ((prot & (PROT_WRITE_ | PROT_EXEC_)) == (PROT_WRITE_ | PROT_EXEC_)) {
        alert = 2;     /* unknown region made W+X: it gains execute (Tracee: "to Executable") */
    }
    regions.update(&k, &prot);
    if (alert) return emit_alert(ctx, alert);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_mprotect) { return on_mprotect(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_exit_pkey_mprotect) { return on_mprotect(args, args->ret); }
#endif

/* -- kernel memory reads for the hooked_syscalls check (user space asks, its own getpgid runs it) -- */
#ifdef WANT_HOOKED_SYSCALLS
struct kread_req { u64 addr; u32 pid; u32 pad; };
struct kread_res { s64 err; u8 data[4096]; };
BPF_ARRAY(kread_req_map, struct kread_req, 1);
BPF_ARRAY(kread_res_map, struct kread_res, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpgid) {
    int zero = 0;
    struct kread_req *rq = kread_req_map.lookup(&zero);
    if (!rq || rq->pid != (bpf_get_current_pid_tgid() >> 32)) return 0;
    struct kread_res *rs = kread_res_map.lookup(&zero);
    if (!rs) return 0;
    rs->err = bpf_probe_read_kernel(rs->data, sizeof(rs->data), (const void *)rq->addr);
    return 0;
}
#endif
