# dblink_py: PGXS build. `make install` puts the control file and SQL script
# into the server's extension directory and the Python package (plus what it
# imports) into $(pkglibdir)/dblink_py, for the server's own Python.

EXTENSION = dblink_py
DATA_built = sql/dblink_py--1.2.sql
EXTRA_CLEAN = sql/dblink_py--1.2.sql

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The Python that plpython3.so links against (not necessarily python3 on PATH).
SERVER_PYTHON ?= $(shell scripts/server-python $(PG_CONFIG))
PYTHON_DIR = $(pkglibdir)/dblink_py
# Where the backend finds PYTHON_DIR: relative to its own executable (Linux:
# /proc/self/exe), so that a DESTDIR copy of the whole installation works as
# well as the real one; elsewhere, the absolute path.
PYTHON_DIR_FROM_BINDIR = $(shell realpath -m --relative-to=$(bindir) $(PYTHON_DIR))

# The install script is the parts in sql/parts/, one per topic, in order.
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))

sql/dblink_py--1.2.sql: $(SQL_PARTS) Makefile scripts/build-sql
	scripts/build-sql $@ '$(PYTHON_DIR)' '$(PYTHON_DIR_FROM_BINDIR)' $(SQL_PARTS)

install: install-python
uninstall: uninstall-python

.PHONY: install-python uninstall-python test demo bench docker-image
install-python:
	scripts/install-python '$(PG_CONFIG)' '$(SERVER_PYTHON)' '$(DESTDIR)$(PYTHON_DIR)'

uninstall-python:
	rm -rf '$(DESTDIR)$(PYTHON_DIR)' '$(DESTDIR)$(PYTHON_DIR)'-*

# Developer entry points (see README).
test:
	scripts/test

demo:
	scripts/demo $(ARGS)

bench:
	bench/run $(ARGS)

# Docker (docker/README.md): the image with dblink_py, and the test suite
# against it (DBLINK_PY_SERVERS=docker). BASE=local: on the debootstrap base
# image, which needs no image registry; default: the official postgres:15.
.PHONY: test-docker
docker-image:
	scripts/docker-image $(if $(BASE),--base '$(BASE)')

test-docker:
	scripts/test-docker $(if $(BASE),--base '$(BASE)') $(ARGS)
