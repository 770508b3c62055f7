/* TRC-4 trigger: code written into an anonymous writable+executable mapping, which is then made
 * executable only (what unpackers and shellcode loaders do). Near-miss: the W^X way — map
 * read+write, write the code, then make it read+execute. */
#include "trigger.h"
#include <sys/mman.h>

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "");
    size_t size = 4096;
    int prot = attack ? PROT_READ | PROT_WRITE | PROT_EXEC : PROT_READ | PROT_WRITE;
    unsigned char *page = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) die("mmap");
    page[0] = 0xc3;   /* x86-64 `ret` */
    if (mprotect(page, size, PROT_READ | PROT_EXEC) < 0) die("mprotect");
    ((void (*)(void))page)();
    fact("pid=%d", getpid());
    munmap(page, size);
    return 0;
}
