# One image for the API (migrations + uvicorn) and the GPU workers. The PyTorch image brings
# CUDA, cuDNN and a torch built for them; pip adds the service around that torch, never over it.
FROM pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data

WORKDIR /app

# Dependencies in a layer of their own (empty packages stand in for the code), so a code change
# does not download them again. The constraint keeps the image's CUDA build of torch.
COPY pyproject.toml README.md ./
RUN mkdir -p core api worker ops \
    && touch core/__init__.py api/__init__.py worker/__init__.py ops/__init__.py \
    && python -m pip list --format=freeze | grep -iE '^(torch|torchvision)==' > /tmp/torch-constraints.txt \
    && python -m pip install -c /tmp/torch-constraints.txt . \
    && python -m pip uninstall -y cifar-resnet-service \
    && rm -rf core api worker ops build ./*.egg-info

COPY core ./core
COPY api ./api
COPY worker ./worker
COPY ops ./ops
RUN python -m pip install --no-deps . && rm -rf build ./*.egg-info

# The commit the image was built from (`docker build --build-arg SOURCE_REVISION=$(git rev-parse
# HEAD)`): each job attempt records it, since the image holds no .git to ask.
ARG SOURCE_REVISION=""
ENV SOURCE_REVISION=${SOURCE_REVISION}

# Not root: a training job reads files and talks to PostgreSQL and Redis, nothing more.
# /data is created here so that a named volume mounted on it starts out owned by this user.
RUN useradd --create-home --uid 10001 service && mkdir -p /data && chown service /data
USER service

EXPOSE 8000
# docker-compose.yml gives each service its command; this one is the API's.
CMD ["sh", "-c", "python -m core.store.migrate && exec uvicorn api.app:app --host 0.0.0.0 --port 8000 --no-proxy-headers"]
