# dblink_py: PGXS build. `make install` puts the control file and SQL script
# into the server's extension directory and the Python package (plus what it
# imports) into $(pkglibdir)/dblink_py, for the server's own Python.

EXTENSION = dblink_py
# dblink_py's version: the Python package's (python/dblink_py/__init__.py),
# which is also the extension's default_version (dblink_py.control) and
# META.json's; `make test` checks that they agree.
DBLINK_PY_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' python/dblink_py/__init__.py)
# The install script of this version; that of every earlier release, to
# update from (sql/upgrades/); and 1.2's, so that it can be installed.
UPGRADES = $(patsubst sql/upgrades/%.before.sql,sql/%.sql,$(wildcard sql/upgrades/*.before.sql))
DATA_built = sql/dblink_py--$(DBLINK_PY_VERSION).sql sql/dblink_py--1.2.sql $(UPGRADES)
EXTRA_CLEAN = $(DATA_built) sql/dblink--*.sql
# `make installcheck`: pg_regress against a running server (see test/README)
REGRESS = dblink_py
REGRESS_OPTS = --inputdir=test --outputdir=test/output

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Supported: PostgreSQL 15 and later (what the tests run on: 15).
PG_MAJOR := $(shell $(PG_CONFIG) --version | sed 's/^[^0-9]*\([0-9]*\).*/\1/')
ifneq ($(shell test "$(PG_MAJOR)" -ge 15 2>/dev/null && echo ok),ok)
$(error dblink_py needs PostgreSQL 15 or later; $(PG_CONFIG) is PostgreSQL $(PG_MAJOR))
endif

# The Python that plpython3.so links against (not necessarily python3 on PATH).
SERVER_PYTHON ?= $(shell scripts/server-python $(PG_CONFIG))
PYTHON_DIR = $(pkglibdir)/dblink_py
# The backend finds PYTHON_DIR in the library directory it uses for $libdir
# (so a DESTDIR copy of the whole installation works as well as the real
# one), else at this absolute path: see scripts/build-sql.
BUILD_SQL = scripts/build-sql

# The install script is the parts in sql/parts/, one per topic, in order.
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))

sql/dblink_py--$(DBLINK_PY_VERSION).sql: $(SQL_PARTS) Makefile $(BUILD_SQL)
	$(BUILD_SQL) $@ '$(PYTHON_DIR)' $(SQL_PARTS)

sql/dblink_py--1.2.sql: sql/versions/dblink_py--1.2.sql Makefile $(BUILD_SQL)
	$(BUILD_SQL) $@ '$(PYTHON_DIR)' $<

sql/dblink_py--%.sql: sql/upgrades/dblink_py--%.before.sql sql/upgrades/dblink_py--%.after.sql $(SQL_PARTS) Makefile $(BUILD_SQL)
	$(BUILD_SQL) --upgrade $@ '$(PYTHON_DIR)' $(wordlist 1,2,$^) $(SQL_PARTS)

# AS_DBLINK=1: the same extension under the name dblink as well (dblink.control,
# dblink--$(DBLINK_PY_VERSION).sql), for programs that look for dblink by name. It is
# not installed over a dblink.control of someone else's (C dblink's), and
# `make uninstall` removes it only if it is dblink_py's.
DBLINK_MARK = \# installed by dblink_py (make install AS_DBLINK=1): the same extension as dblink_py
EXTENSION_DIR = $(DESTDIR)$(datadir)/extension

# Its scripts: this version's, and the updates from versions released since
# the variant exists (1.3.0).
DBLINK_DATA = $(filter-out sql/dblink--1.2--%,$(patsubst sql/dblink_py--%,sql/dblink--%,$(filter-out sql/dblink_py--1.2.sql,$(DATA_built))))

sql/dblink--%.sql: sql/dblink_py--%.sql
	sed -e 's|CREATE EXTENSION dblink_py|CREATE EXTENSION dblink|; s|ALTER EXTENSION dblink_py |ALTER EXTENSION dblink |' $< > $@

.PHONY: install-as-dblink uninstall-as-dblink
ifeq ($(AS_DBLINK),1)
install: install-as-dblink
endif
uninstall: uninstall-as-dblink

install-as-dblink: $(DBLINK_DATA)
	@if [ -e '$(EXTENSION_DIR)/dblink.control' ] && ! grep -qF '$(DBLINK_MARK)' '$(EXTENSION_DIR)/dblink.control'; then \
	    echo "$(EXTENSION_DIR)/dblink.control exists and is not dblink_py's (C dblink's?): not installing dblink_py as dblink" >&2; \
	    exit 1; \
	fi
	$(MKDIR_P) '$(EXTENSION_DIR)'
	{ echo '$(DBLINK_MARK)'; sed -e 's|^comment = .*|comment = '"'"'connect to other PostgreSQL databases from within a database (dblink_py, PL/Python)'"'"'|' dblink_py.control; } > '$(EXTENSION_DIR)/dblink.control'
	$(INSTALL_DATA) $(DBLINK_DATA) '$(EXTENSION_DIR)/'

uninstall-as-dblink:
	@if [ -e '$(EXTENSION_DIR)/dblink.control' ] && grep -qF '$(DBLINK_MARK)' '$(EXTENSION_DIR)/dblink.control'; then \
	    echo "rm -f $(EXTENSION_DIR)/dblink.control $(notdir $(DBLINK_DATA))"; \
	    rm -f '$(EXTENSION_DIR)/dblink.control' $(addprefix '$(EXTENSION_DIR)'/,$(notdir $(DBLINK_DATA))); \
	fi

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
