# An image that runs any volmgr program: the command is the first argument.
#
#   docker build -t volmgr .
#   docker run volmgr volmgr-all --demo
#   docker run -v /etc/volmgr:/etc/volmgr:ro volmgr volmgr-manage --config-file /etc/volmgr/volmgr.conf db sync
#   docker run -v /etc/volmgr:/etc/volmgr:ro -p 8776:8776 volmgr volmgr-api --config-file /etc/volmgr/volmgr.conf
#   docker run -v /etc/volmgr:/etc/volmgr:ro volmgr volmgr-scheduler --config-file /etc/volmgr/volmgr.conf
#   docker run -v /etc/volmgr:/etc/volmgr:ro -v /srv/images:/srv/images volmgr volmgr-volume --config-file /etc/volmgr/volmgr.conf --config-file /etc/volmgr/files.conf
#   docker run -e VOLMGR_CONFIG_FILES=/etc/volmgr/volmgr.conf -v /etc/volmgr:/etc/volmgr:ro -p 8776:8776 volmgr gunicorn --bind 0.0.0.0:8776 volmgr_api.wsgi:application
#
# Without an argument it runs volmgr-all (the embedded demo set-up: SQLite and the
# in-process transport under /var/lib/volmgr). An LVM backend needs the host's LVM
# tools and devices, and root: run that volume service on the host instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system volmgr \
    && useradd --system --gid volmgr --home-dir /var/lib/volmgr --create-home volmgr

COPY . /src
RUN pip install "/src[keystone]" "gunicorn>=22.0" \
    && install -m 0755 /src/tools/container/volmgr-entrypoint /usr/local/bin/volmgr-entrypoint \
    && mkdir -p /etc/volmgr \
    && cp /src/etc/volmgr/volmgr.conf.sample /src/etc/volmgr/policy.yaml.sample /etc/volmgr/ \
    && rm -rf /src

USER volmgr
WORKDIR /var/lib/volmgr
VOLUME ["/var/lib/volmgr"]
EXPOSE 8776 9776

ENTRYPOINT ["/usr/local/bin/volmgr-entrypoint"]
CMD ["volmgr-all"]
