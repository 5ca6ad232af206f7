# The busybox session of the conformance suite (issue 9, item 6).
#
# The runner (tests/conformance/runner.c, --session) runs `/bin/sh /etc/session.sh` in a fresh
# empty /tmp/case with stdin from /dev/null and stdout and stderr in one file. The output must
# be byte for byte what the same image prints on Linux, apart from the lines `~ TAG: TEXT`
# (nothing else begins with `~ `), whose text legitimately depends on the kernel and the
# moment; TEXT must match TAG's pattern in tests/conformance/session-patterns.txt:
#
#   uptime      uptime's line (time, time up, users, load averages)
#   free-head   free's header; free-mem, free-swap its Mem: and Swap: rows
#   rootmount   the root's line of mount (`rootfs on / type rootfs|tmpfs (OPTIONS)`)
#   df-head     df's header; df-row the row of a tmpfs whose size is the kernel's choice
#   uname-s, uname-r, uname-v   the kernel's name, release and version
#
# Each step prints a `== NAME` marker first so a diff shows where it went wrong. Nothing here
# depends on time or pids: dates are fixed with `date -d @N` and `touch -d`, listings sorted.

export TZ=UTC LC_ALL=C
exec 2>&1
step() { echo "== $*"; }

step setup
mkdir -p dir/sub/deep && echo "created dir/sub/deep"
printf 'banana 3\napple 10\ncherry 7\napple 2\ndate 5\n' > fruits.txt
printf 'one\ntwo\nthree\n' > dir/words.txt
echo hello > dir/sub/hello.txt
touch -d '2023-11-14 22:13:20' fruits.txt dir/words.txt dir/sub/hello.txt

# ---- shell features ----

step pipeline
cat fruits.txt | grep apple | wc -l
step pipeline status
false | true; echo "false|true -> $?"
true | false; echo "true|false -> $?"
! false; echo "! false -> $?"

step redirections
echo first > out.txt
echo second >> out.txt
cat < out.txt
ls nosuchfile 2> err.txt; echo "ls status $?"
sed 's/^ls: //' err.txt
{ echo to-stdout; echo to-stderr >&2; } > both.txt 2>&1; cat both.txt
exec 3> fd3.txt; echo via-fd3 >&3; exec 3>&-; cat fd3.txt
exec 4< fruits.txt; read -r first4 <&4; exec 4<&-; echo "read from fd 4: $first4"
: > empty.txt; wc -c < empty.txt

step here-documents
name=world
cat <<EOF
hello $name
sum $((2 + 3))
EOF
cat <<'EOF'
literal $name $((1+1))
EOF
	cat <<-EOF
	tabs stripped for $name
	EOF

step subshells
(cd dir/sub && pwd)
pwd
x=outer; (x=inner; echo "in subshell x=$x"); echo "after subshell x=$x"
(exit 5); echo "subshell exit $?"

step command substitution
n=$(wc -l < fruits.txt); echo "lines: $n"
echo "nested: $(echo "a$(echo b$(echo c))")"
echo "backticks: `echo old style`"
echo "words: $(printf '%s ' $(cat dir/words.txt))"

step loops
for i in 1 2 3; do printf '%s,' "$i"; done; echo
i=0; while [ $i -lt 5 ]; do i=$((i + 1)); [ $i -eq 2 ] && continue; [ $i -eq 4 ] && break; echo "while $i"; done
j=3; until [ $j -eq 0 ]; do echo "until $j"; j=$((j - 1)); done
while read -r fruit count; do echo "$fruit=$count"; done < fruits.txt
for f in dir/*; do echo "glob $f"; done

step functions
fact() { if [ "$1" -le 1 ]; then echo 1; else echo $(($1 * $(fact $(($1 - 1))))); fi; }
echo "5! = $(fact 5)"
scoped() { local v=inside; echo "v=$v"; return 3; }
v=outside; scoped; echo "returned $? v=$v"
args() { echo "$# args: $*"; shift; echo "after shift: $1"; }
args a b 'c d'

step case and expansions
for w in apple.tar.gz Banana x; do
    case $w in
        *.tar.gz) echo "$w: tarball ${w%%.*} ${w#*.}" ;;
        [A-Z]*) echo "$w: capitalised, ${#w} chars" ;;
        *) echo "$w: other, ${unset_var:-default}" ;;
    esac
done

step traps
(trap 'echo "EXIT trap ran"' EXIT; echo "in trapping subshell")
sh -c 'trap "echo caught USR1" USR1; kill -USR1 $$; echo "after USR1"'
sh -c 'trap "echo caught TERM; exit 9" TERM; kill -TERM $$; echo never'; echo "TERM handler exit $?"
sh -c 'trap "" INT; sh -c "kill -INT \$\$; echo INT ignored in child"'

step background jobs and wait
(sleep 0.3; echo slow > bg1.txt) &
p1=$!
(echo fast > bg2.txt; exit 4) &
p2=$!
wait $p2; echo "fast job status $?"
wait $p1; echo "slow job status $?"
cat bg1.txt bg2.txt
sleep 5 & p3=$!
# Whether wait reports "Terminated" depends on whether SIGCHLD came before wait began (the
# child may die before kill returns): that message is timing, the status is not.
kill $p3; wait $p3 2>/dev/null; echo "killed job status $?"
for k in 1 2 3; do (echo "job $k" > job$k.txt) & done; wait; cat job1.txt job2.txt job3.txt

step exit statuses
true; echo "true $?"
false; echo "false $?"
sh -c 'exit 42'; echo "exit 42 -> $?"
nosuchcommand 2>/dev/null; echo "not found $?"
./fruits.txt 2>/dev/null; echo "not executable $?"
sh -c 'kill -KILL $$'; echo "killed $?"
[ -e fruits.txt ] && echo "&& ran" || echo "|| ran"
[ -e nosuch ] && echo "&& ran" || echo "|| ran"

step fifo and pipes
mkfifo pipe.fifo && stat -c '%F %a' pipe.fifo
(echo "through the fifo" > pipe.fifo) & cat pipe.fifo; wait
yes | head -n 3
yes abc | head -c 4000 | wc -c
seq 20000 | md5sum
seq 20000 | sort -r | head -n 2

step stat and umask
stat -c '%n %s %a %U %G %h %Y' fruits.txt dir/words.txt
ls -ld dir dir/sub dir/sub/deep | cut -c1-15
umask; (umask 077; touch private.txt; stat -c '%a' private.txt); umask
touch -d '2001-02-03 04:05:06' dir/sub/deep && stat -c '%y' dir/sub/deep

step timeout
busybox timeout 1 sleep 5; echo "timeout status $?"
busybox timeout 5 true; echo "no timeout status $?"

# ---- applets ----

step ls -l
chmod 640 dir/words.txt
ls -l fruits.txt dir/words.txt dir/sub/hello.txt
ls -a dir
ls -R dir

step cat
cat -n dir/words.txt
cat dir/words.txt dir/sub/hello.txt

step cp
cp fruits.txt copy.txt && cmp fruits.txt copy.txt && echo "copy identical"
cp -r dir dircopy && ls dircopy dircopy/sub
cp -p fruits.txt kept.txt && ls -l kept.txt

step mv
mv copy.txt moved.txt && ls copy.txt moved.txt 2>&1 | sort
mv dircopy dirmoved && ls -d dir*

step rm
rm moved.txt && echo "removed"; ls moved.txt 2>&1
rm -r dirmoved && ls -d dir*
rm nosuch 2>&1; echo "rm status $?"
rm -f nosuch; echo "rm -f status $?"

step mkdir
mkdir a && mkdir -p a/b/c && ls -R a
mkdir a 2>&1; echo "mkdir status $?"
mkdir -m 700 private && stat -c '%A %n' private

step ln -s
ln -s fruits.txt link.txt && readlink link.txt && cat link.txt | head -1
stat -c '%F %N' link.txt
ln -s nowhere dangling; cat dangling 2>&1; echo "dangling status $?"
ln fruits.txt hard.txt && stat -c '%h %n' fruits.txt hard.txt

step find
find . -name '*.txt' | sort
find dir -type d | sort
find . -type l | sort
find dir -type f -name 'w*' -exec wc -l {} \;
find . -newer fruits.txt -name 'job*' | sort

step grep
grep -n an fruits.txt
grep -c apple fruits.txt
grep -v -i APPLE fruits.txt
grep -E '^(b|c)' fruits.txt
grep -o '[0-9][0-9]*' fruits.txt | tr '\n' ' '; echo
grep -q durian fruits.txt; echo "grep -q status $?"
grep -r hello dir

step sed
sed 's/a/A/g' fruits.txt
sed -n '2,3p' fruits.txt
sed '/apple/d' fruits.txt
sed -e 's/ /:/' -e '1i header' fruits.txt
cp fruits.txt edit.txt && sed -i 's/[0-9]*$/N/' edit.txt && cat edit.txt

step awk
awk '{ s += $2 } END { print "total", s }' fruits.txt
awk '$2 > 4 { printf "%-8s|%3d\n", $1, $2 }' fruits.txt
awk -F: '{ print NR ": " $1 " uid " $3 }' /etc/passwd
awk 'BEGIN { for (i = 1; i <= 3; i++) a[i] = i * i; print a[1] + a[2] + a[3], length("xyz"), toupper("up") }'
awk '{ c[$1]++ } END { for (k in c) print k, c[k] }' fruits.txt | sort

step sort
sort fruits.txt
sort -k2 -n fruits.txt
sort -r -k2,2n fruits.txt
cut -d' ' -f1 fruits.txt | sort -u

step uniq
cut -d' ' -f1 fruits.txt | sort | uniq -c
printf 'a\na\nb\nc\nc\nc\n' | uniq -d
printf 'a\na\nb\nc\nc\nc\n' | uniq -u

step wc
wc fruits.txt
wc -l -w -c dir/words.txt
printf 'no newline' | wc -c

step head and tail
head -n 2 fruits.txt
seq 100 | head -3
tail -n 2 fruits.txt
seq 100 | tail -n +98
tail -c 6 fruits.txt

step tr
echo 'Hello, World' | tr 'a-z' 'A-Z'
echo 'hello world' | tr -d 'lo'
echo 'aaabbbccc' | tr -s 'abc'
echo 'a b c' | tr ' ' '\n'

step cut
cut -d: -f1,3 /etc/passwd
echo 'abcdefgh' | cut -c2-4
echo 'x,y,z' | cut -d, -f2-

step xargs
seq 5 | xargs echo
seq 6 | xargs -n 2 echo pair
find dir -name '*.txt' | sort | xargs cat
printf 'a b\nc\n' | xargs -I{} echo '[{}]'

step date
date -u -d @1700000000
date -u -d @1700000000 '+%Y-%m-%d %H:%M:%S %A %j %s'
date -u -d '2024-02-29 12:00:00' '+%s %a'
date -u -r fruits.txt '+mtime %F %T'
[ "$(date +%s)" -gt 1700000000 ] && echo "clock after 2023"

step sleep
sleep 0.2 && echo "slept 0.2"
sleep 1; echo "sleep status $?"

step env
env -i A=1 B='two words' /bin/env
MYVAR=set env | grep '^MYVAR='
env -u TZ /bin/sh -c 'echo "TZ=${TZ-unset}"'

step printf
printf '%5d|%-5s|%x|%o|%c\n' 42 ab 255 8 Z
printf '%s-%s\n' a b c d
printf '%.3f %e\n' 3.14159 12345.678
printf 'esc: \\ \t tab \101\n'

step test
test 3 -lt 5 && echo "3 < 5"
[ abc = abc ] && echo "strings equal"
[ -n "" ] || echo "empty string"
[ -d dir ] && [ -f fruits.txt ] && [ -L link.txt ] && [ -s fruits.txt ] && echo "file tests"
[ ! -e nosuch ] && echo "nosuch absent"
[ fruits.txt -ef hard.txt ] && echo "same file"
[ 10 -ge 10 -a 2 -ne 3 ] && echo "-a works"

step expr
expr 6 \* 7
expr 17 / 5 + 17 % 5
expr length hello
expr substr abcdef 2 3
expr index abcdef d
expr match foo123 'foo\([0-9]*\)'
expr 3 \< 2; echo "expr false status $?"

step seq
seq 3
seq 2 3 11
seq -s, 5
seq -w 8 10
seq 3 -1 1

step md5sum
md5sum fruits.txt dir/words.txt
printf '' | md5sum
md5sum fruits.txt > sums.md5 && md5sum -c sums.md5

step sha256sum
sha256sum fruits.txt
echo -n abc | sha256sum

step tar
tar cf archive.tar dir && tar tf archive.tar | sort
tar tvf archive.tar | grep hello.txt
mkdir untar && tar xf archive.tar -C untar && cat untar/dir/sub/hello.txt
tar czf archive.tgz fruits.txt dir/words.txt && tar tzf archive.tgz
mkdir untgz && (cd untgz && tar xzf ../archive.tgz && cmp fruits.txt ../fruits.txt && echo "tgz round trip")

step gzip
cp fruits.txt g.txt && gzip g.txt && ls g.txt*
gzip -t g.txt.gz && echo "gzip -t ok"
gzip -dc g.txt.gz | md5sum
gunzip g.txt.gz && cmp g.txt fruits.txt && echo "gunzip round trip"
echo compressed | gzip -c | gunzip -c
zcat archive.tgz | wc -c

step dd
dd if=/dev/zero of=zeros.bin bs=512 count=4 2>/dev/null && wc -c < zeros.bin
dd if=fruits.txt bs=1 skip=7 count=5 2>/dev/null; echo
dd if=fruits.txt of=part.txt bs=8 count=2 2>&1 | grep records
dd if=/dev/zero bs=1k count=3 2>/dev/null | md5sum
printf 'abcdef' | dd of=conv.txt conv=swab 2>/dev/null; cat conv.txt; echo

step od
printf 'abc\n\001' | od -c
printf 'ABCD' | od -An -tx1
printf '\377\000\001\002' | od -An -tu1
od -N 8 -x fruits.txt

step ps
sleep 7 & sp=$!
# Until the child has named itself (busybox runs the applet in the forked shell and sets
# its name with prctl) ps could legitimately show it as `sh`.
until [ "$(cat /proc/$sp/comm)" = sleep ]; do sleep 0.05; done
ps -o pid,comm | awk -v p=$sp '$1 == p { print "ps sees", $2 }'
ps | grep -c 'sleep [7]'
kill $sp; wait $sp 2>/dev/null
ps -o pid,comm | awk -v p=$sp '$1 == p { print "still there" }'; echo "ps after kill done"

step kill
kill -l 9 15
kill -l TERM
sleep 9 & kp=$!; kill -0 $kp && echo "kill -0 ok"; kill -s USR1 $kp; wait $kp 2>/dev/null; echo "USR1 status $?"
kill -0 $kp 2>/dev/null; echo "kill -0 after exit $?"
kill -9 999999 2>&1; echo "kill missing pid status $?"

step uptime
uptime | sed 's/^ */~ uptime: /'
awk '{ print ($1 > 0 ? "uptime positive" : "uptime zero") }' /proc/uptime

step free
free | sed -e '1s/^ */~ free-head: /' -e 's/^Mem:/~ free-mem: Mem:/' -e 's/^Swap:/~ free-swap: Swap:/'
free | awk 'NR == 2 { print $1, ($2 > 0 ? "total positive" : "no total") }'

step mount
mount | grep ' on / ' | sed 's/^/~ rootmount: /'
mount | grep ' on /proc ' | cut -d' ' -f1-5
mkdir mnt && mount -t tmpfs scratch mnt && echo "mounted tmpfs"
grep ' /tmp/case/mnt ' /proc/mounts | cut -d' ' -f1-3
mount | grep ' on /tmp/case/mnt ' | cut -d' ' -f1-5
echo inside > mnt/f && cat mnt/f

step df
df mnt 2>&1 | sed -e '1s/^/~ df-head: /' -e '2s/^/~ df-row: /'
df -k mnt | head -1
df -k mnt | awk 'NR == 2 { print $1, ($2 > 0 ? "blocks positive" : "no blocks"), $NF }'
umount mnt && ls mnt | wc -l
mount -t nosuchfs none mnt 2>&1; echo "bad fstype status $?"

step uname
uname -m
uname -o
uname -s | sed 's/^/~ uname-s: /'
uname -r | sed 's/^/~ uname-r: /'
uname -v | sed 's/^/~ uname-v: /'

step hostname
hostname -F /etc/hostname && hostname
uname -n
hostname session-host && hostname && uname -n

step id
id
id -u; id -g; id -un; id -gn

step end
cd / && rm -rf /tmp/case/* && echo "cleaned up"
echo "session done"
