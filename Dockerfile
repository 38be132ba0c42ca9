# peftd runtime images. The jar is built outside (./mvnw -B package -> target/peftd.jar), so the image build
# downloads nothing for the CPU variant.
#
#   CPU (default):  docker build -t peftd:0.1.0 .
#   GPU (CUDA 12.8): docker build --target gpu -t peftd:0.1.0-gpu .
#
# The GPU variant adds the pip build of libtorch 2.7.1+cu128 and points DJL at it (DJL 0.36 needs exactly
# libtorch 2.7.1; Maven Central has no cu128 native jar). The CUDA driver comes from the host
# (NVIDIA container toolkit / Kubernetes device plugin).

ARG JRE_IMAGE=docker.io/library/eclipse-temurin:17-jre
ARG PYTHON_IMAGE=docker.io/library/python:3.12-slim-bookworm

# --- libtorch 2.7.1 + CUDA 12.8 user-space libraries from the PyTorch wheel index (GPU variant only) -----------
FROM ${PYTHON_IMAGE} AS libtorch-cu128
ARG TORCH_VERSION=2.7.1
ARG TORCH_CUDA=12.8
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
# The version check fails the build on anything but ${TORCH_VERSION}+cu128. libtorch_cuda.so finds the nvidia/* wheels
# through its RUNPATH ($ORIGIN/../../nvidia/...), so that layout is kept; the folders are also listed for ld.so, for
# the libraries that cuDNN and NCCL open by name.
RUN pip install --no-cache-dir --target /opt/pytorch "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}" \
 && PYTHONPATH=/opt/pytorch python -c "import torch; v = torch.__version__.split('+')[0]; \
assert v == '${TORCH_VERSION}', 'DJL 0.36 needs libtorch ${TORCH_VERSION}, got ' + v; \
assert torch.version.cuda == '${TORCH_CUDA}', 'expected CUDA ${TORCH_CUDA}, got ' + str(torch.version.cuda)" \
 && find /opt/pytorch/nvidia -mindepth 2 -maxdepth 2 -name lib -type d | sort > /opt/pytorch/ld.so.conf \
 && test -s /opt/pytorch/ld.so.conf

# --- CPU image: the jar bundles libtorch 2.7.1 for CPU (pytorch-native-cpu) ---------------------------------------
FROM ${JRE_IMAGE} AS cpu
ARG PEFTD_UID=10001
RUN groupadd --gid "${PEFTD_UID}" peftd \
 && useradd --uid "${PEFTD_UID}" --gid peftd --no-create-home --home-dir /var/lib/peftd --shell /usr/sbin/nologin peftd \
 && mkdir -p /opt/peftd /var/lib/peftd /var/cache/peftd \
 && chown peftd:peftd /var/lib/peftd /var/cache/peftd
COPY deploy/docker/healthcheck.sh /opt/peftd/healthcheck.sh
COPY target/peftd.jar /opt/peftd/peftd.jar
# Heap at 40% of the container limit: libtorch tensors live outside the Java heap (djl-notes.md section 4).
# ai.djl.offline: DJL must use the bundled (or pointed-to) natives, never download them at run time.
# GLIBC_TUNABLES: glibc's small-block caches off, so freed activations' holes are reused instead of staying resident
# (bf16 LoRA training's peak RSS on the SmolLM2-135M shape ~-200 MB; docs/djl-notes.md "Memory", MallocPolicy).
ENV PEFTD_DATA_DIR=/var/lib/peftd \
    DJL_CACHE_DIR=/var/cache/peftd/djl \
    GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0 \
    JDK_JAVA_OPTIONS="-XX:MaxRAMPercentage=40 -XX:InitialRAMPercentage=5 -XX:+ExitOnOutOfMemoryError -Dai.djl.offline=true -Djava.io.tmpdir=/var/cache/peftd"
VOLUME ["/var/lib/peftd"]
USER peftd:peftd
WORKDIR /var/lib/peftd
EXPOSE 8080
# start-period covers the JVM start, Flyway and (embedded default) PostgreSQL's first initdb on a small machine;
# readiness includes the database and the store
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=4 CMD ["/opt/peftd/healthcheck.sh"]
ENTRYPOINT ["java", "-jar", "/opt/peftd/peftd.jar"]

# --- GPU image: CPU image + libtorch 2.7.1 cu128; DJL loads it instead of the bundled CPU build ------------------
FROM cpu AS gpu
USER root
COPY --from=libtorch-cu128 /opt/pytorch/torch/lib /opt/pytorch/torch/lib
COPY --from=libtorch-cu128 /opt/pytorch/nvidia /opt/pytorch/nvidia
COPY --from=libtorch-cu128 /opt/pytorch/ld.so.conf /etc/ld.so.conf.d/pytorch-cu128.conf
RUN ldconfig
ENV PYTORCH_LIBRARY_PATH=/opt/pytorch/torch/lib \
    PYTORCH_VERSION=2.7.1 \
    PYTORCH_FLAVOR=cu128 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    PEFTD_WORKER_DEVICES=gpu:0
USER peftd:peftd

# --- default target: the CPU image ----------------------------------------------------------------------------
FROM cpu
