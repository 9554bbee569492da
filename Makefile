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
# Where the backend finds PYTHON_DIR, relative to its own executable, so that a
# DESTDIR copy of the whole installation works as well as the real one.
PYTHON_DIR_FROM_BINDIR = $(shell realpath -m --relative-to=$(bindir) $(PYTHON_DIR))

# Put in front of every function body: makes the installed package importable
# (found next to the running postgres executable) the first time it is needed.
BOOTSTRAP = import sys; "dblink_py" in sys.modules or sys.path.insert(0, __import__("os").path.normpath(__import__("os").path.join(__import__("os").path.dirname(__import__("os").path.realpath("/proc/self/exe")), "$(PYTHON_DIR_FROM_BINDIR)")))

# The install script is the parts in sql/parts/, one per topic, in order.
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))

sql/dblink_py--1.2.sql: $(SQL_PARTS) Makefile
	cat $(SQL_PARTS) | sed -e 's|\$$\$$ from dblink_py import|$$$$\n$(BOOTSTRAP)\nfrom dblink_py import|' > $@

install: install-python
uninstall: uninstall-python

.PHONY: install-python uninstall-python test demo bench docker-image
install-python:
	@test -n "$(SERVER_PYTHON)" || { echo "cannot find the Python that $(pkglibdir)/plpython3.so uses; install postgresql-plpython3-<major>" >&2; exit 1; }
	@$(SERVER_PYTHON) -m pip --version >/dev/null 2>&1 || { echo "$(SERVER_PYTHON) has no pip: apt-get install python3-pip (or set SERVER_PYTHON)" >&2; exit 1; }
	rm -rf '$(DESTDIR)$(PYTHON_DIR)'
	$(SERVER_PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
	    --target '$(DESTDIR)$(PYTHON_DIR)' -r server-requirements.txt
	cp -R python/dblink_py '$(DESTDIR)$(PYTHON_DIR)/dblink_py'
	find '$(DESTDIR)$(PYTHON_DIR)/dblink_py' -name __pycache__ -prune -exec rm -rf {} +
	$(SERVER_PYTHON) -m compileall -q '$(DESTDIR)$(PYTHON_DIR)/dblink_py' >/dev/null

uninstall-python:
	rm -rf '$(DESTDIR)$(PYTHON_DIR)'

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
