# The detector as an image: every distribution of this repository on Debian's Python, with
# Debian's BCC (python3-bpfcc) and bpftool, and `tracee` as the entry point.
#   docker build -t tracee .                                  # FROM debian:bookworm-slim
#   docker build --build-arg BASE=local/debian:bookworm -t tracee .   # another Debian base
#   ./scripts/build-image --local-base                        # no registry: a debootstrap base
# How to run it (privileges, host namespaces, mounts): README.md, "The detector as a container".
ARG BASE=debian:bookworm-slim

# -- the wheels: this tree's distributions and every dependency ---------------------------------------
FROM ${BASE} AS wheels
ARG DEBIAN_FRONTEND=noninteractive
# Extra pip options, e.g. --no-index when dist/wheelhouse holds every wheel (scripts/build-image
# makes one on the host where the build cannot reach PyPI itself).
ARG PIP_OPTIONS=""
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check $PIP_OPTIONS \
       --find-links /src/dist/wheelhouse "setuptools>=68" wheel \
    && /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check $PIP_OPTIONS --no-build-isolation \
       --find-links /src/dist/wheelhouse -w /wheels /src /src/plugins/*/

# -- the detector ------------------------------------------------------------------------------------
FROM ${BASE}
ARG DEBIAN_FRONTEND=noninteractive
# BCC from Debian (its LLVM and Python bindings match the distribution); bpftool builds the BTF
# header cache that stands in for kernel headers; regopy's native library needs libatomic.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-bpfcc libatomic1 \
       bpftool ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheels /wheels /wheels
# --system-site-packages: the venv sees Debian's bcc module.
RUN python3 -m venv --system-site-packages /opt/tracee \
    && /opt/tracee/bin/pip install --no-cache-dir --disable-pip-version-check --no-index \
       --find-links /wheels /wheels/tracee*.whl \
    && rm -rf /wheels \
    && /opt/tracee/bin/tracee list >/dev/null
ENV PATH=/opt/tracee/bin:$PATH \
    TRACEE_CACHE_DIR=/var/cache/tracee
# BTF-derived kernel headers, built at the first start: keep them in a volume between runs.
VOLUME /var/cache/tracee
ENTRYPOINT ["tracee"]
CMD ["run"]
