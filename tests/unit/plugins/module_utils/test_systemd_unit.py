"""Unit tests of module_utils/_systemd_unit: systemctl show output, unit files and
ExecStart= expansion, each case as systemd 239/252 reads it (src/basic/env-util.c
replace_env_argv, src/basic/extract-word.c, src/shared/conf-parser.c,
src/core/load-fragment.c config_parse_exec, src/systemctl/systemctl-show.c)."""

from __future__ import annotations

import pytest

from ansible_collections.kubeha.control_plane.plugins.module_utils import _systemd_unit as su
from ansible_collections.kubeha.control_plane.plugins.module_utils._systemd_unit import SystemdUnitError

# systemd 252 (Debian 12), the CentOS unit started: what `systemctl show kube-apiserver -p ...` prints.
SHOW_252 = """\
ExecStart={ path=/usr/bin/kube-apiserver ; argv[]=/usr/bin/kube-apiserver $KUBE_LOGTOSTDERR $KUBE_API_ARGS ; \
ignore_errors=no ; start_time=[Mon 2024-05-06 10:00:01 UTC] ; stop_time=[n/a] ; pid=4242 ; code=(null) ; status=0/0 }
Environment="GREETING=hello world" PLAIN=1
User=kube
Group=
EnvironmentFiles=/etc/kubernetes/config (ignore_errors=yes)
EnvironmentFiles=/etc/kubernetes/apiserver (ignore_errors=no)
Id=kube-apiserver.service
LoadState=loaded
FragmentPath=/usr/lib/systemd/system/kube-apiserver.service
DropInPaths=/etc/systemd/system/kube-apiserver.service.d/10-a.conf /run/systemd/system/kube-apiserver.service.d/20-b.conf
NeedDaemonReload=no
"""


# -- systemctl show ------------------------------------------------------------------


def test_parse_show_252():
    props = su.parse_show(SHOW_252)
    assert su.show_value(props, "User") == "kube"
    assert su.show_value(props, "Group") == ""
    assert su.show_value(props, "Missing") == ""
    assert props["EnvironmentFiles"] == ["/etc/kubernetes/config (ignore_errors=yes)",
                                         "/etc/kubernetes/apiserver (ignore_errors=no)"]
    command = su.parse_exec_property(props["ExecStart"][0])
    assert command["path"] == "/usr/bin/kube-apiserver"
    assert command["argv"] == ["/usr/bin/kube-apiserver", "$KUBE_LOGTOSTDERR", "$KUBE_API_ARGS"]
    assert command["ignore_errors"] is False
    assert su.parse_environment_files(props["EnvironmentFiles"]) == [
        ("/etc/kubernetes/config", True), ("/etc/kubernetes/apiserver", False)]
    assert su.parse_strv(su.show_value(props, "Environment")) == ["GREETING=hello world", "PLAIN=1"]
    assert su.parse_strv(su.show_value(props, "DropInPaths")) == [
        "/etc/systemd/system/kube-apiserver.service.d/10-a.conf",
        "/run/systemd/system/kube-apiserver.service.d/20-b.conf"]


def test_parse_show_value_with_a_newline_and_properties_not_asked_for():
    text = ("ExecStart={ path=/bin/echo ; argv[]=/bin/echo a\nb ; ignore_errors=no ; start_time=[n/a] ; "
            "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\nRestart=no\nUser=kube\n")
    props = su.parse_show(text)
    assert su.parse_exec_property(props["ExecStart"][0])["argv"] == ["/bin/echo", "a\nb"]
    assert "Restart" not in props
    assert su.show_value(props, "User") == "kube"
    assert su.parse_show(b"User=kube\n") == {"User": ["kube"]}
    assert su.parse_show("") == {}


@pytest.mark.parametrize("text", ["garbage\n", 42])
def test_parse_show_refuses_what_is_not_show_output(text):
    with pytest.raises(SystemdUnitError):
        su.parse_show(text)


def test_parse_exec_property_239_no_argv_and_ex_form():
    # systemd 239 prints the same format; a command never started has code=(null) and status=0/0.
    ran = su.parse_exec_property("{ path=/usr/bin/x ; argv[]=/usr/bin/x -a ; ignore_errors=yes ; "
                                 "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")
    assert (ran["argv"], ran["ignore_errors"]) == (["/usr/bin/x", "-a"], True)
    empty = su.parse_exec_property("{ path=/usr/bin/x ; argv[]=n/a ; ignore_errors=no ; start_time=[n/a] ; "
                                   "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")
    assert empty["argv"] == []
    ex = su.parse_exec_property("{ path=/usr/bin/x ; argv[]=/usr/bin/x ; flags=ignore-failure no-env-expand ; "
                                "start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")
    assert ex["ignore_errors"] is None


@pytest.mark.parametrize("value", ["/usr/bin/x $A", "{ path=/x ; argv[]=/x }"])
def test_parse_exec_property_refuses_other_text(value):
    with pytest.raises(SystemdUnitError, match="is not what systemctl show prints"):
        su.parse_exec_property(value)


def test_parse_environment_files():
    assert su.parse_environment_files(["/etc/a b (ignore_errors=no)", ""]) == [("/etc/a b", False)]
    with pytest.raises(SystemdUnitError):
        su.parse_environment_files(["-/etc/kubernetes/config"])


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", []),
        ("A=1 B=2", ["A=1", "B=2"]),
        ('"A=x y" B=', ["A=x y", "B="]),                          # 252: shell_maybe_quote
        ('"A=\\"q\\" \\\\ \\$HOME \\`x\\`"', ['A="q" \\ $HOME `x`']),
        ('"A=tab\\there\\nline\\x01"', ["A=tab\there\nline\x01"]),
        ("A=1 [unprintable] B=2", ["A=1", None, "B=2"]),          # 239: a value with a space
    ],
)
def test_parse_strv(value, expected):
    assert su.parse_strv(value) == expected


def test_parse_strv_unterminated_quote():
    with pytest.raises(SystemdUnitError, match="unterminated quote"):
        su.parse_strv('"A=1')


# -- word splitting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("--a=1   --b=2\t--c", ["--a=1", "--b=2", "--c"]),
        ('--a="x y" --b=\'c d\'', ["--a=x y", "--b=c d"]),      # quotes inside a word group and are removed
        ('"" x', ["", "x"]),                                    # an empty quoted word is a word
        ("a\\ b c\\\\d", ["a b", "c\\d"]),                      # a backslash escapes the next character
        ("'it\\'s' x", ["it's", "x"]),                          # also inside quotes
        ('"--a=unterminated', ["--a=unterminated"]),           # RELAX accepts it
        ("--a=trailing\\", ["--a=trailing"]),                  # and a final backslash
        ("  ", []),
    ],
)
def test_split_env_value(value, expected):
    assert su.split_env_value(value) == expected


def test_extract_words_strict_and_cunescape():
    assert su.extract_words("a\\x41\\sb \\u00e9", cunescape=True) == ["aA b", "\u00e9"]
    assert su.extract_words("\\101\\t", cunescape=True) == ["A\t"]
    with pytest.raises(SystemdUnitError, match="invalid escape"):
        su.extract_words("a\\q", cunescape=True)
    assert su.extract_words("a\\q", cunescape=True, unescape_relax=True) == ["a\\q"]
    with pytest.raises(SystemdUnitError, match="unbalanced quoting"):
        su.extract_words('"a')
    with pytest.raises(SystemdUnitError, match="ends with a backslash"):
        su.extract_words("a\\")


# -- expansion --------------------------------------------------------------------------------

ENV = {"A": "--x=1 --y='two words'", "B": "", "C": "v"}


@pytest.mark.parametrize(
    "word, expected",
    [
        ("$A", [("--x=1", ("A",)), ("--y=two words", ("A",))]),   # split, quotes removed
        ("${A}", [("--x=1 --y='two words'", ("A",))]),             # one word, as it is
        ("$B", []),                                                 # empty: no word
        ("$UNSET", []),                                             # unset: no word
        ("${B}", [("", ("B",))]),                                   # empty: one empty word
        ("${UNSET}", [("", ("UNSET",))]),
        ("--c=${C}/${C}", [("--c=v/v", ("C", "C"))]),
        ("--c=$C", [("--c=$C", ())]),                               # $VAR inside a word stays
        ("$$C", [("$C", ())]),                                      # $$ is $
        ("a$$b$", [("a$b$", ())]),
        ("$", []),                                                  # not a variable name: no word
        ("$C-x", []),
        ("${C:-d}", [("${C:-d}", ())]),                             # no ${VAR:-default} in ExecStart=
        ("${C", [("${C", ())]),                                     # never closed: literal
        ("${bad-name}", [("", ("bad-name",))]),
    ],
)
def test_expand_exec_argv(word, expected):
    assert su.expand_exec_argv([word], ENV) == expected


def test_expand_exec_argv_keeps_order():
    assert [w for w, _n in su.expand_exec_argv(["/usr/bin/k", "$C", "$B", "--z"], ENV)] == ["/usr/bin/k", "v", "--z"]


def test_referenced_variables():
    assert su.referenced_variables(["/k", "$A", "--b=${B}", "$$C", "${D:-x}", "$A", "$bad-name"]) == ["A", "B"]


# -- unit files --------------------------------------------------------------------------------

CENTOS7 = """[Unit]
Description=Kubernetes API Server ; no comment here
After=network.target

[Service]
EnvironmentFile=-/etc/kubernetes/config
# a comment line \\
ExecStart=/usr/bin/kube-apiserver \\
\t    $KUBE_LOGTOSTDERR \\
# comments inside a continued line are skipped
\t    $KUBE_API_ARGS
Environment="A=x y" B=2 not-an-assignment
"""


def test_parse_unit_text_joins_continued_lines_and_skips_comments():
    assert su.parse_unit_text(CENTOS7) == [
        ("Unit", "Description", "Kubernetes API Server ; no comment here", 2),
        ("Unit", "After", "network.target", 3),
        ("Service", "EnvironmentFile", "-/etc/kubernetes/config", 6),
        ("Service", "ExecStart", "/usr/bin/kube-apiserver  \t    $KUBE_LOGTOSTDERR  \t    $KUBE_API_ARGS", 8),
        ("Service", "Environment", '"A=x y" B=2 not-an-assignment', 12),
    ]
    assert su.parse_unit_text(b"Orphan=1\n[Service]\r\nUser=kube\\\n") == [("Service", "User", "kube", 3)]


@pytest.mark.parametrize("text, message", [("[Service\n", "invalid section header"), ("[Service]\nnothing\n", "has no '='")])
def test_parse_unit_text_errors(text, message):
    with pytest.raises(SystemdUnitError, match=message):
        su.parse_unit_text(text)


@pytest.mark.parametrize(
    "value, path, argv, no_env_expand, exact",
    [
        ("/usr/bin/k $A \"--b=x y\"", "/usr/bin/k", ["/usr/bin/k", "$A", "--b=x y"], False, True),
        ("-/usr/bin/k --a", "/usr/bin/k", ["/usr/bin/k", "--a"], False, True),
        ("@/usr/bin/k kube-apiserver --a", "/usr/bin/k", ["kube-apiserver", "--a"], False, True),
        (":/usr/bin/k $A", "/usr/bin/k", ["/usr/bin/k", "$A"], True, True),
        ("+!/usr/bin/k", "/usr/bin/k", ["/usr/bin/k"], False, True),
        ("/usr/bin/k --name=%n", "/usr/bin/k", ["/usr/bin/k", "--name=%n"], False, False),   # a specifier
        ("/usr/bin/k --pct=100%%", "/usr/bin/k", ["/usr/bin/k", "--pct=100%"], False, True),
        ("/usr/bin/k a ; /usr/bin/j", "/usr/bin/k", ["/usr/bin/k", "a"], False, False),      # two commands
        ("/usr/bin/k \\; \";\"", "/usr/bin/k", ["/usr/bin/k", ";", ";"], False, True),
        ("/usr/bin/k \\q", "/usr/bin/k", ["/usr/bin/k", "\\q"], False, True),               # kept after a warning
    ],
)
def test_parse_exec_line(value, path, argv, no_env_expand, exact):
    assert su.parse_exec_line(value) == dict(path=path, argv=argv, no_env_expand=no_env_expand, exact=exact)


def test_parse_exec_line_errors():
    with pytest.raises(SystemdUnitError, match="has no command"):
        su.parse_exec_line("   ")
    with pytest.raises(SystemdUnitError, match="unbalanced quoting"):
        su.parse_exec_line('/usr/bin/k "--a')


def test_parse_unit_files_drop_in_resets_exec_start_and_environment():
    drop_in = ("[Service]\nExecStart=\nExecStart=/usr/local/bin/kube-apiserver $KUBE_API_ARGS\n"
               "Environment=\nEnvironment=C=3 C=4\n[Install]\nExecStart=/ignored\n")
    parsed = su.parse_unit_files([("/unit", CENTOS7), ("/drop-in.conf", drop_in)])
    assert [(c["argv"], c["source"]) for c in parsed["exec_start"]] == [
        (["/usr/local/bin/kube-apiserver", "$KUBE_API_ARGS"], "/drop-in.conf")]
    assert parsed["environment"] == ["C=4"]
    base = su.parse_unit_files([("/unit", CENTOS7)])
    assert base["exec_start"][0]["argv"] == ["/usr/bin/kube-apiserver", "$KUBE_LOGTOSTDERR", "$KUBE_API_ARGS"]
    assert base["environment"] == ["A=x y", "B=2"]          # an invalid assignment is left out, as systemd does
    # Without a reset, a second ExecStart= is a second command.
    more = su.parse_unit_files([("/unit", CENTOS7), ("/more.conf", "[Service]\nExecStart=/bin/true\n")])
    assert len(more["exec_start"]) == 2


def test_parse_unit_files_names_the_file_of_an_error():
    with pytest.raises(SystemdUnitError, match="/bad.conf line 2: "):
        su.parse_unit_files([("/bad.conf", '[Service]\nExecStart=/usr/bin/k "open\n')])


def test_environment_dict():
    assert su.environment_dict(["A=1", "B=x=y", "A=2", "bad", "9X=1"]) == {"A": "2", "B": "x=y"}
