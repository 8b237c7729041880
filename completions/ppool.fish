# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ppool_global_optspecs
    string join \n h/help V/version
end

function __fish_ppool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ppool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ppool_using_subcommand
    set -l cmd (__fish_ppool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ppool -n "__fish_ppool_needs_command" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_needs_command" -s V -l version -d 'Print version'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "submit" -d 'Hand one task to a named pool that lives between commands; print its id [Pool.apply_async]'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "get" -d 'Wait for one submitted task, print its output whole, exit with its status [AsyncResult.get]'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "wait" -d 'Wait for every submitted task, print the results no `get` printed and every failure, then end the pool'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "status" -d 'List a pool\'s tasks: id, state, running time, exit status, command'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "pools" -d 'List the running pools, with how many tasks each has'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "cancel" -d 'Stop a submitted task, or every task of the pool: SIGTERM, SIGKILL after the task\'s --grace'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "builtins" -d 'List the registered builtins with a line of help each'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish)'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "apply" -d 'Run exactly one task with stdin, stdout and stderr passed through [Pool.apply]'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "map" -d 'Run every task, then print all results in input order [Pool.map]'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "imap" -d 'Print each result as soon as it and every task before it have ended [Pool.imap]'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "unordered" -d 'Print each result as soon as its task ends [Pool.imap_unordered]'
complete -c ppool -n "__fish_ppool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l pool -d 'The pool: one server per name, for as long as it has work or a `wait` has not come' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -s j -l jobs -d 'Run N tasks of the pool at once; given to a running pool, its size for the tasks that start next [default: number of CPUs]' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l retries -d 'Run the task again up to N more times when it fails' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l timeout -d 'Stop the task after DUR; it fails with status timeout (124)' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l grace -d 'Time between SIGTERM and SIGKILL when stopping the task' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l on-done -d 'When the task succeeds, run CMD (split as a shell would, run without one); {id}, {status} and {exit} stand for the task\'s, {} for its command' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l on-error -d 'When the task fails (after its retries), run CMD, with the placeholders of --on-done' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l idle -d 'A pool started by this submit ends after DUR with no task and no client' -r
complete -c ppool -n "__fish_ppool_using_subcommand submit" -s s -l shell -d 'Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh)'
complete -c ppool -n "__fish_ppool_using_subcommand submit" -l fail-fast -d 'On the first failed task the pool starts no more and stops the running ones; `wait` exits with its code'
complete -c ppool -n "__fish_ppool_using_subcommand submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand get" -l pool -d 'The pool: one server per name, for as long as it has work or a `wait` has not come' -r
complete -c ppool -n "__fish_ppool_using_subcommand get" -l timeout -d 'Give up waiting after DUR: exit 124, the task goes on and can be fetched later' -r
complete -c ppool -n "__fish_ppool_using_subcommand get" -l output -d 'text: the task\'s output, whole; json: one object' -r -f -a "text\t'Each task\'s stdout and stderr, whole'
json\t'One JSON object per task on stdout'"
complete -c ppool -n "__fish_ppool_using_subcommand get" -l tag -d 'Prefix each output line with the command and a TAB'
complete -c ppool -n "__fish_ppool_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand wait" -l pool -d 'The pool: one server per name, for as long as it has work or a `wait` has not come' -r
complete -c ppool -n "__fish_ppool_using_subcommand wait" -l output -d 'text: each task\'s output, whole; json: one object per task' -r -f -a "text\t'Each task\'s stdout and stderr, whole'
json\t'One JSON object per task on stdout'"
complete -c ppool -n "__fish_ppool_using_subcommand wait" -l cancel -d 'Cancel every task first (as `ppool cancel --all`), then report and end the pool'
complete -c ppool -n "__fish_ppool_using_subcommand wait" -l tag -d 'Prefix each output line with the command and a TAB'
complete -c ppool -n "__fish_ppool_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand status" -l pool -d 'The pool: one server per name, for as long as it has work or a `wait` has not come' -r
complete -c ppool -n "__fish_ppool_using_subcommand status" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_using_subcommand pools" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_using_subcommand cancel" -l pool -d 'The pool: one server per name, for as long as it has work or a `wait` has not come' -r
complete -c ppool -n "__fish_ppool_using_subcommand cancel" -l all -d 'Every task of the pool: the queued ones never start'
complete -c ppool -n "__fish_ppool_using_subcommand cancel" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_using_subcommand builtins" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_using_subcommand man" -s h -l help -d 'Print help'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l colsep -d 'Split each record on the literal string SEP into {1}, {2}, ... (\\t is a tab, \\\\ a backslash)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l colsep-regex -d 'Split each record where the regular expression RE matches, into {1}, {2}, ...' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l header -d '`:` takes the first line (or each source\'s first value) as column names for {name}; with --pipe, N lines or what the regular expression REGEXP matches at the start of the input top every block' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l trim -d 'Trim white space from each field or value: n (no), l (left), r (right), lr or rl (both)' -r -f -a "n\t''
l\t''
r\t''
lr\t''
rl\t''"
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l arg-sep -d 'Use SEP instead of ::: (and SEP+ instead of :::+) to start a source of arguments' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l halt -d 'When to stop, as GNU parallel: never (the default), or WHEN,WHY=N: WHEN now (stop the running tasks) or soon (let them finish), WHY fail, success or done, N a count or a percentage of all tasks (--fail-fast is now,fail=1)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l retries -d 'Run a failed task up to N more times (N+1 attempts in all; GNU parallel\'s --retries N means N in all)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l timeout -d 'Stop a task after DUR (500ms, 10s, 2m, 1h; at most 100 years; 0: no limit), or after N% of the median run time of the tasks that succeeded so far (as GNU parallel; measured when the task starts, no limit before one has succeeded); it fails with status timeout' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l grace -d 'Time between SIGTERM and SIGKILL when stopping a task (also after ppool itself was killed)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l output -d 'text: each task\'s output, whole; json: one object per task' -r -f -a "text\t'Each task\'s stdout and stderr, whole'
json\t'One JSON object per task on stdout'"
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l joblog -d 'Log each finished task to FILE, in GNU parallel\'s joblog format' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s I -d 'Use STR instead of {} for the whole record, in the command and --tagstring ({} is then plain text; {.}, {1}, {#} and the others keep their names), as xargs -I and GNU parallel -I' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l replace -d 'As -I STR; --replace alone is --replace={} (give STR with =, so that the command is not taken for it)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l tagstring -d 'Prefix each output line with STR, its placeholders ({}, {1}, {#}, {%}, ...) filled in for the task, and a TAB (implies --tag)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l extensionreplace -l er -d 'Use STR instead of {.} (the record without its extension), which is then plain text, as GNU parallel --er' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l basenamereplace -l bnr -d 'Use STR instead of {/} (the basename), as GNU parallel --bnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l dirnamereplace -l dnr -d 'Use STR instead of {//} (the dirname), as GNU parallel --dnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l basenameextensionreplace -l bner -d 'Use STR instead of {/.} (the basename without extension), as GNU parallel --bner' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l seqreplace -d 'Use STR instead of {#} (the task number), as GNU parallel --seqreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l slotreplace -d 'Use STR instead of {%} (the slot), as GNU parallel --slotreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s d -l delimiter -d 'Input records end with DELIM instead of a newline (xargs -d; C escapes such as \\n, \\t, \\0, \\x1f; several bytes are one delimiter, as GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s E -d 'Stop reading a stdin or file source at a record equal to EOF, as xargs -E (the rest is left unread)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l delay -d 'Start tasks at least DUR apart (500ms, 2s; a bare number is seconds), as GNU parallel --delay' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l nice -d 'Run ppool and its tasks at niceness N more than now (as nice -n N; below 0 needs root), as GNU parallel --nice' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l minversion -d 'Exit 0 if this ppool is at least VERSION (as 0.1.0), else 255 with a message: for scripts, as GNU parallel --minversion. A GNU parallel release date (20221122) is compared with the release whose behaviour ppool follows, 20221122, which is printed' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s J -l profile -d 'Put the options in ~/.config/ppool/NAME (else GNU parallel\'s ~/.parallel/NAME) before the command line\'s; repeatable. Without it, ~/.config/ppool/config (else ~/.parallel/config) is read when it exists' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l memfree -d 'Start a task only while at least SIZE of memory is free (500M, 2G; K, M, G, T are powers of 1024), as GNU parallel counts it; tasks already running are not stopped' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l load -d 'Start a task only while fewer than N threads are running or waiting for disk (N% of the CPUs with %), as GNU parallel measures its load' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l termseq -d 'GNU parallel\'s stop sequence, in the form ppool follows: TERM,MS (repeatable) then KILL,MS; the waits before KILL add up to --grace (TERM,200,TERM,100,KILL,25 is --grace 300ms)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s j -s P -l jobs -d 'Run N tasks at once, fewer if the system\'s thread, descriptor or address-space limit allows fewer (with a warning); N% of the CPUs; +N or -N: the CPUs plus or minus N; 0: as many as the system allows; FILE: its first line holds one of these, read again as tasks end (at most every second) to run more or fewer tasks, up to what 0 allows [default: number of CPUs]' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s a -l arg-file -d 'Read records from FILE instead of stdin; repeat for more input sources (- is stdin)' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s b -l builtin -d 'Run the registered builtin NAME in persistent workers (see `ppool builtins`)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l worker -d 'Start --jobs long-running copies of `sh -c CMD`; each record is one line on a worker\'s stdin, answered by its next stdout line (its stderr passes straight through)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l chunksize -d 'Records sent to a worker at a time: builtins [default: automatic, about 10ms of work a chunk]; --worker [default: 1], answered in order, a line each' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l max-tasks-per-worker -d 'Replace each builtin or --worker worker after it has run N tasks' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s S -l ssh -l sshlogin -d 'Run tasks on HOSTS through ssh (comma-separated, repeatable; N/host gives N slots, else as many as the host has CPUs, asked once, with --jobs N, N%, +N, -N applied to each host; \':\' is this machine; @G/host puts host in group G, @G alone uses only group G\'s hosts; the ssh command is $PPOOL_SSH, default ssh, or the host\'s own, as GNU writes it: \'ssh -p 2222 user@host\', the host last)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l ssh-file -l sshloginfile -d 'Read ssh hosts from FILE, one per line (blank lines and # comments skipped); read again as tasks end (at most every second) when it changes: an added host gets tasks, a removed one no new tasks' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l transferfile -l tf -d 'Copy FILE (a template, usually {}) to the host before its task, to the same path under the remote working directory (the part after /./ when there is one; an absolute path stays where it is); repeatable. rsync when both ends have it, else tar through ssh. Not for \':\'' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l return -d 'Copy FILE (a template, such as {.}.out) back from the host after its task, to the same path here; repeatable. A task that succeeded but whose file cannot be copied fails with status transfer' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l trc -d '--transfer --return FILE --cleanup' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l workdir -l wd -d 'Run remote tasks in DIR (a template; relative to the login directory), made when missing. \'...\': a new directory per task under ~/.parallel/tmp, removed after it; \'.\': this directory, relative to the home directory when it is under it' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l env -d 'Give remote tasks the variable NAME with its value here (repeatable, or NAME,NAME). \'_\': every variable but those named in ~/.parallel/ignored_vars, else but those a login shell sets' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l slurm-args -d 'With --slurm: more srun options for every task, split into words as a shell would (--slurm-args \'--partition=short --time=10\')' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l cpus-per-task -d 'With --slurm: CPUs for each task\'s step or job (srun -c) [default: 1]' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l results -d 'Save each task\'s stdout, stderr and outcome in files under DIR as it ends: DIR/SEQ/stdout, stderr, outcome.json; a DIR with placeholders (out/{1}/{2}) names them as GNU parallel does' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l arg-file-sep -d 'Use SEP instead of :::: (and SEP+ instead of ::::+) to start a source of files' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s n -s N -l max-args -d 'Up to N records per command (xargs -n; -N is GNU parallel\'s spelling): with no placeholder they are appended as arguments; {1}..{N} name them; -N0: one record per task, inserted nowhere' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s L -l max-lines -d 'Up to N input lines per command: the same as -n N (no continuation of lines ending in a blank, unlike xargs -L); with --pipe, records of N lines, as many whole ones per block as fit --block (GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l max-chars -d 'With -n, -X or -m: at most N bytes per command line, counting each argument and its NUL, as xargs -s does [default: with -X and -n, xargs\' (128 KiB, or the system\'s limit less the environment and 2 KiB, the lower: `xargs --show-limits`); with -m and --xargs, GNU parallel\'s (63664 bytes on Linux, or the system\'s limit, the lower)]' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l tmpdir -d 'The directory for --files [default: $TMPDIR, else /tmp]' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l sshdelay -l ssh-delay -d 'Start a new ssh client at least DUR after the last (500ms, 2s; a bare number is seconds), as GNU parallel --sshdelay' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l block -d 'With --pipe: blocks of about SIZE bytes (k, m, g: 1000s; K, M, G or Ki, Mi, Gi: 1024s, as GNU parallel); a record longer than SIZE makes its block longer; with --pipepart, -N cuts the file into N blocks per job slot (N × --jobs of about equal size) [default: 1M]' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l recend -d 'With --pipe: records end with STR (\\n newline, \\0 NUL, \\t tab, \\\\ backslash) [default: \\n, or nothing when only --recstart is given; -0: \\0]' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l recstart -d 'With --pipe: records start with STR; a block ends only where a --recend is followed by a --recstart' -r
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s 0 -l null -d 'Input records are separated by NUL, not newline'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l csv -d 'Each record is a CSV record (RFC 4180: quoted fields may hold separators and newlines); fields are {1}, {2}, ...'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l link -d 'Pair the input sources value by value instead of taking their product; shorter sources wrap'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l json -d 'Each line is one JSON value (JSON Lines); enables {field} and {a.b.0}'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l remove-rec-sep -l rrs -l removerecsep -d 'With --pipe: take the record separators out of each block (each --recend followed by a --recstart, a --recstart that starts it, a --recend that ends it), as GNU parallel --rrs'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s s -l shell -d 'Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh); each substituted value is quoted for where it stands, and one that a second shell would read (the script of sh -c, eval) is refused'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l fail-fast -d 'On the first failed task: start no more, stop the running ones, exit with its code'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l collect-errors -d 'Run every task, then report every failure (the default)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s r -l no-run-if-empty -d 'Leave out records with an empty or blank value, numbering the rest as if they never were (GNU parallel); a run with no input runs no task anyway'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l tag -d 'Prefix each output line with the record and a TAB'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l resume -d 'With --joblog: skip the tasks the log already holds'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l resume-failed -d 'With --joblog: skip the tasks the log holds as succeeded; re-run its failed ones'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l retry-failed -d 'With --joblog and no command or input: run again the command lines the log holds as failed, as GNU parallel --retry-failed'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l dry-run -l dryrun -d 'Print each command, shell-quoted, instead of running it'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s t -l verbose -d 'Print each command to stderr as it starts, shell-quoted as --dry-run prints it (xargs -t)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l plus -d 'GNU parallel\'s further replacement strings: {+/} {+.} {+..} {..} {/..} {0%} {##} {0#} {choose_k} {uniq}, and bash-like {:-STR} {:N} {:N:M} {#RE} {##RE} {%RE} {%%RE} {/RE/STR} {//RE/STR} {/#RE/STR} {/%RE/STR} {^RE} {^^RE} {,RE} {,,RE}; each also with a field number, {2:-x} or {-1+.}'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l number-of-cores -l number-of-cpus -d 'Print the number of physical CPU cores and exit, as GNU parallel (--number-of-cpus is its older name)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l number-of-threads -d 'Print the number of hardware threads (the CPUs the system schedules on) and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l number-of-sockets -d 'Print the number of CPU sockets and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l max-line-length-allowed -d 'Print the longest command line GNU parallel\'s probe finds here and exit, as GNU parallel (-m, -X and --xargs fill its half, less 1500 bytes)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l record-env -d 'Write the names of the variables set now to ~/.parallel/ignored_vars (or $PARALLEL_HOME/ignored_vars) and exit, as GNU parallel: --env _ then leaves them out'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s q -l quote -d 'Accepted as GNU parallel\'s -q: ppool passes each command word as it is, unquoted by any shell, unless --shell is given'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l noswap -d 'Start a task only while the machine is not swapping in and out at once, as GNU parallel measures it'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s v -d 'Print each command on stdout, shell-quoted, just before its output and with its tag (GNU parallel -v; -vv is the same)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l shuf -d 'Read all input first, then run the tasks in random order ({#} numbers them in that order), as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l progress -l bar -d 'Show a progress bar on stderr (only when stderr is a terminal)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l eta -d 'Print GNU parallel\'s progress lines on stderr, terminal or not: a header, then after each task "ETA: 2s Left: 2 AVG: 1.11s  local:2/7/100%/1.1s" (the time left, tasks left, average seconds per task; running/done/share/average on this computer), rewritten in place with \\r'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l line-buffer -l linebuffer -l lb -d 'unordered only: print whole lines as they arrive instead of whole tasks'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l transfer -d '--transferfile {}'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l cleanup -d 'Remove the task\'s --transferfile and --return files on the host after it, and the directories they leave empty'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l slurm -d 'Run each task through Slurm\'s srun: inside an allocation (an sbatch script) as a job step, with as many slots as it has tasks; outside one as a job of its own, at most --jobs at once'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s X -d 'As many records per command as xargs puts on one (see --max-chars); a word with {} is repeated for each (GNU parallel -X)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l xargs -d 'As -m, but an input that ends in a batch shorter than the limit is not spread over the job slots (GNU parallel --xargs)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s m -d 'As many records per command as GNU parallel puts on one (see --max-chars); {} stands for all of them, as separate arguments (GNU parallel -m)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s k -l keep-order -d 'Accepted as GNU parallel\'s way to keep input order, which imap and map always keep (unordered refuses it)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l files -d 'Print the path of a new file (DIR/parXXXXXX.par) holding each task\'s stdout instead of the stdout itself; the files are kept (stderr is printed as usual)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l compress -d 'Keep large output that waits on disk for its turn (imap, map) lz4-compressed, for output that compresses well; unordered prints each task\'s output as it ends, so nothing waits'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s M -l controlmaster -d 'Accepted as GNU parallel\'s -M: with --ssh, the tasks of a host always share one ssh connection (ssh\'s ControlMaster, its socket in a private directory of the run); PPOOL_SSH_CONTROLMASTER=no gives each task its own'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l onall -d 'Run every record on every host (each pair is one task, numbered record by record); output lines are tagged with the host, as GNU parallel --onall'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l nonall -d 'Run the command once on every host, with no input; output lines are tagged with the host, as GNU parallel --nonall'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l hostgroups -l hgrp -d 'A record ending in @GROUP (or @G1+G2) runs only on the hosts of those groups, the suffix removed; hosts join groups as @G1+G2/HOST, and each is in the group of its own name; a record whose groups no host has runs anywhere, as GNU parallel --hostgroups'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s u -l ungroup -d 'unordered only: print output as it arrives, as GNU parallel -u; ppool passes it in whole lines, as --line-buffer'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l pipe -d 'Cut stdin (or the one -a FILE) into blocks of whole records and write each block to the stdin of one task; the command gets no argument, {#} is the block number; -N N: N records per block; --header N (or :): the first N lines top every block'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l regexp -d 'With --pipe: --recend and --recstart are regular expressions (Rust regex syntax)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l cat -d 'With --pipe: write each block to a temporary file instead of stdin; {} is its path (appended when the command has no placeholder); the file is removed when the task ends'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l fifo -d 'With --pipe: as --cat, but a named pipe the block is written into as the task reads it'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l pipepart -l pipe-part -d 'As --pipe, for one seekable -a FILE: blocks are byte ranges found by seeking, each task reads its range from the file, so no data passes through one reader (--cat, --fifo and -N are for --pipe)'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l round-robin -l roundrobin -d 'With --pipe or --pipepart: start --jobs tasks once and feed each the next block whenever it is ready for more, for commands slow to start; one result per task'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l use-cpus-instead-of-cores -d 'Count N% and +N of --jobs and --load in CPU sockets instead of hardware threads, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -l shellquote -d 'Run nothing: print each record (each line of stdin, or each ::: value) quoted for the shell, one per line, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s j -s P -l jobs -d 'Run N tasks at once, fewer if the system\'s thread, descriptor or address-space limit allows fewer (with a warning); N% of the CPUs; +N or -N: the CPUs plus or minus N; 0: as many as the system allows; FILE: its first line holds one of these, read again as tasks end (at most every second) to run more or fewer tasks, up to what 0 allows [default: number of CPUs]' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s a -l arg-file -d 'Read records from FILE instead of stdin; repeat for more input sources (- is stdin)' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand map" -l colsep -d 'Split each record on the literal string SEP into {1}, {2}, ... (\\t is a tab, \\\\ a backslash)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l colsep-regex -d 'Split each record where the regular expression RE matches, into {1}, {2}, ...' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l header -d '`:` takes the first line (or each source\'s first value) as column names for {name}; with --pipe, N lines or what the regular expression REGEXP matches at the start of the input top every block' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l trim -d 'Trim white space from each field or value: n (no), l (left), r (right), lr or rl (both)' -r -f -a "n\t''
l\t''
r\t''
lr\t''
rl\t''"
complete -c ppool -n "__fish_ppool_using_subcommand map" -l arg-sep -d 'Use SEP instead of ::: (and SEP+ instead of :::+) to start a source of arguments' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l arg-file-sep -d 'Use SEP instead of :::: (and SEP+ instead of ::::+) to start a source of files' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s n -s N -l max-args -d 'Up to N records per command (xargs -n; -N is GNU parallel\'s spelling): with no placeholder they are appended as arguments; {1}..{N} name them; -N0: one record per task, inserted nowhere' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s L -l max-lines -d 'Up to N input lines per command: the same as -n N (no continuation of lines ending in a blank, unlike xargs -L); with --pipe, records of N lines, as many whole ones per block as fit --block (GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l max-chars -d 'With -n, -X or -m: at most N bytes per command line, counting each argument and its NUL, as xargs -s does [default: with -X and -n, xargs\' (128 KiB, or the system\'s limit less the environment and 2 KiB, the lower: `xargs --show-limits`); with -m and --xargs, GNU parallel\'s (63664 bytes on Linux, or the system\'s limit, the lower)]' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l block -d 'With --pipe: blocks of about SIZE bytes (k, m, g: 1000s; K, M, G or Ki, Mi, Gi: 1024s, as GNU parallel); a record longer than SIZE makes its block longer; with --pipepart, -N cuts the file into N blocks per job slot (N × --jobs of about equal size) [default: 1M]' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l recend -d 'With --pipe: records end with STR (\\n newline, \\0 NUL, \\t tab, \\\\ backslash) [default: \\n, or nothing when only --recstart is given; -0: \\0]' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l recstart -d 'With --pipe: records start with STR; a block ends only where a --recend is followed by a --recstart' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s b -l builtin -d 'Run the registered builtin NAME in persistent workers (see `ppool builtins`)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l worker -d 'Start --jobs long-running copies of `sh -c CMD`; each record is one line on a worker\'s stdin, answered by its next stdout line (its stderr passes straight through)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l chunksize -d 'Records sent to a worker at a time: builtins [default: automatic, about 10ms of work a chunk]; --worker [default: 1], answered in order, a line each' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l max-tasks-per-worker -d 'Replace each builtin or --worker worker after it has run N tasks' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l halt -d 'When to stop, as GNU parallel: never (the default), or WHEN,WHY=N: WHEN now (stop the running tasks) or soon (let them finish), WHY fail, success or done, N a count or a percentage of all tasks (--fail-fast is now,fail=1)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l retries -d 'Run a failed task up to N more times (N+1 attempts in all; GNU parallel\'s --retries N means N in all)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l timeout -d 'Stop a task after DUR (500ms, 10s, 2m, 1h; at most 100 years; 0: no limit), or after N% of the median run time of the tasks that succeeded so far (as GNU parallel; measured when the task starts, no limit before one has succeeded); it fails with status timeout' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l grace -d 'Time between SIGTERM and SIGKILL when stopping a task (also after ppool itself was killed)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l output -d 'text: each task\'s output, whole; json: one object per task' -r -f -a "text\t'Each task\'s stdout and stderr, whole'
json\t'One JSON object per task on stdout'"
complete -c ppool -n "__fish_ppool_using_subcommand map" -l joblog -d 'Log each finished task to FILE, in GNU parallel\'s joblog format' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand map" -l results -d 'Save each task\'s stdout, stderr and outcome in files under DIR as it ends: DIR/SEQ/stdout, stderr, outcome.json; a DIR with placeholders (out/{1}/{2}) names them as GNU parallel does' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s I -d 'Use STR instead of {} for the whole record, in the command and --tagstring ({} is then plain text; {.}, {1}, {#} and the others keep their names), as xargs -I and GNU parallel -I' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l replace -d 'As -I STR; --replace alone is --replace={} (give STR with =, so that the command is not taken for it)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l tagstring -d 'Prefix each output line with STR, its placeholders ({}, {1}, {#}, {%}, ...) filled in for the task, and a TAB (implies --tag)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l extensionreplace -l er -d 'Use STR instead of {.} (the record without its extension), which is then plain text, as GNU parallel --er' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l basenamereplace -l bnr -d 'Use STR instead of {/} (the basename), as GNU parallel --bnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l dirnamereplace -l dnr -d 'Use STR instead of {//} (the dirname), as GNU parallel --dnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l basenameextensionreplace -l bner -d 'Use STR instead of {/.} (the basename without extension), as GNU parallel --bner' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l seqreplace -d 'Use STR instead of {#} (the task number), as GNU parallel --seqreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l slotreplace -d 'Use STR instead of {%} (the slot), as GNU parallel --slotreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s d -l delimiter -d 'Input records end with DELIM instead of a newline (xargs -d; C escapes such as \\n, \\t, \\0, \\x1f; several bytes are one delimiter, as GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s E -d 'Stop reading a stdin or file source at a record equal to EOF, as xargs -E (the rest is left unread)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l delay -d 'Start tasks at least DUR apart (500ms, 2s; a bare number is seconds), as GNU parallel --delay' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l nice -d 'Run ppool and its tasks at niceness N more than now (as nice -n N; below 0 needs root), as GNU parallel --nice' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l minversion -d 'Exit 0 if this ppool is at least VERSION (as 0.1.0), else 255 with a message: for scripts, as GNU parallel --minversion. A GNU parallel release date (20221122) is compared with the release whose behaviour ppool follows, 20221122, which is printed' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s J -l profile -d 'Put the options in ~/.config/ppool/NAME (else GNU parallel\'s ~/.parallel/NAME) before the command line\'s; repeatable. Without it, ~/.config/ppool/config (else ~/.parallel/config) is read when it exists' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l memfree -d 'Start a task only while at least SIZE of memory is free (500M, 2G; K, M, G, T are powers of 1024), as GNU parallel counts it; tasks already running are not stopped' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l load -d 'Start a task only while fewer than N threads are running or waiting for disk (N% of the CPUs with %), as GNU parallel measures its load' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l termseq -d 'GNU parallel\'s stop sequence, in the form ppool follows: TERM,MS (repeatable) then KILL,MS; the waits before KILL add up to --grace (TERM,200,TERM,100,KILL,25 is --grace 300ms)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l tmpdir -d 'The directory for --files [default: $TMPDIR, else /tmp]' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand map" -s S -l ssh -l sshlogin -d 'Run tasks on HOSTS through ssh (comma-separated, repeatable; N/host gives N slots, else as many as the host has CPUs, asked once, with --jobs N, N%, +N, -N applied to each host; \':\' is this machine; @G/host puts host in group G, @G alone uses only group G\'s hosts; the ssh command is $PPOOL_SSH, default ssh, or the host\'s own, as GNU writes it: \'ssh -p 2222 user@host\', the host last)' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l ssh-file -l sshloginfile -d 'Read ssh hosts from FILE, one per line (blank lines and # comments skipped); read again as tasks end (at most every second) when it changes: an added host gets tasks, a removed one no new tasks' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand map" -l transferfile -l tf -d 'Copy FILE (a template, usually {}) to the host before its task, to the same path under the remote working directory (the part after /./ when there is one; an absolute path stays where it is); repeatable. rsync when both ends have it, else tar through ssh. Not for \':\'' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l return -d 'Copy FILE (a template, such as {.}.out) back from the host after its task, to the same path here; repeatable. A task that succeeded but whose file cannot be copied fails with status transfer' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l trc -d '--transfer --return FILE --cleanup' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l workdir -l wd -d 'Run remote tasks in DIR (a template; relative to the login directory), made when missing. \'...\': a new directory per task under ~/.parallel/tmp, removed after it; \'.\': this directory, relative to the home directory when it is under it' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l env -d 'Give remote tasks the variable NAME with its value here (repeatable, or NAME,NAME). \'_\': every variable but those named in ~/.parallel/ignored_vars, else but those a login shell sets' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l slurm-args -d 'With --slurm: more srun options for every task, split into words as a shell would (--slurm-args \'--partition=short --time=10\')' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l cpus-per-task -d 'With --slurm: CPUs for each task\'s step or job (srun -c) [default: 1]' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -l sshdelay -l ssh-delay -d 'Start a new ssh client at least DUR after the last (500ms, 2s; a bare number is seconds), as GNU parallel --sshdelay' -r
complete -c ppool -n "__fish_ppool_using_subcommand map" -s 0 -l null -d 'Input records are separated by NUL, not newline'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l csv -d 'Each record is a CSV record (RFC 4180: quoted fields may hold separators and newlines); fields are {1}, {2}, ...'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l link -d 'Pair the input sources value by value instead of taking their product; shorter sources wrap'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l json -d 'Each line is one JSON value (JSON Lines); enables {field} and {a.b.0}'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s X -d 'As many records per command as xargs puts on one (see --max-chars); a word with {} is repeated for each (GNU parallel -X)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l xargs -d 'As -m, but an input that ends in a batch shorter than the limit is not spread over the job slots (GNU parallel --xargs)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s m -d 'As many records per command as GNU parallel puts on one (see --max-chars); {} stands for all of them, as separate arguments (GNU parallel -m)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l pipe -d 'Cut stdin (or the one -a FILE) into blocks of whole records and write each block to the stdin of one task; the command gets no argument, {#} is the block number; -N N: N records per block; --header N (or :): the first N lines top every block'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l pipepart -l pipe-part -d 'As --pipe, for one seekable -a FILE: blocks are byte ranges found by seeking, each task reads its range from the file, so no data passes through one reader (--cat, --fifo and -N are for --pipe)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l regexp -d 'With --pipe: --recend and --recstart are regular expressions (Rust regex syntax)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l remove-rec-sep -l rrs -l removerecsep -d 'With --pipe: take the record separators out of each block (each --recend followed by a --recstart, a --recstart that starts it, a --recend that ends it), as GNU parallel --rrs'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l cat -d 'With --pipe: write each block to a temporary file instead of stdin; {} is its path (appended when the command has no placeholder); the file is removed when the task ends'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l fifo -d 'With --pipe: as --cat, but a named pipe the block is written into as the task reads it'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l round-robin -l roundrobin -d 'With --pipe or --pipepart: start --jobs tasks once and feed each the next block whenever it is ready for more, for commands slow to start; one result per task'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s s -l shell -d 'Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh); each substituted value is quoted for where it stands, and one that a second shell would read (the script of sh -c, eval) is refused'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l fail-fast -d 'On the first failed task: start no more, stop the running ones, exit with its code'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l collect-errors -d 'Run every task, then report every failure (the default)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l shuf -d 'Read all input first, then run the tasks in random order ({#} numbers them in that order), as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s r -l no-run-if-empty -d 'Leave out records with an empty or blank value, numbering the rest as if they never were (GNU parallel); a run with no input runs no task anyway'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l tag -d 'Prefix each output line with the record and a TAB'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l progress -l bar -d 'Show a progress bar on stderr (only when stderr is a terminal)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l eta -d 'Print GNU parallel\'s progress lines on stderr, terminal or not: a header, then after each task "ETA: 2s Left: 2 AVG: 1.11s  local:2/7/100%/1.1s" (the time left, tasks left, average seconds per task; running/done/share/average on this computer), rewritten in place with \\r'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l resume -d 'With --joblog: skip the tasks the log already holds'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l resume-failed -d 'With --joblog: skip the tasks the log holds as succeeded; re-run its failed ones'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l retry-failed -d 'With --joblog and no command or input: run again the command lines the log holds as failed, as GNU parallel --retry-failed'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l dry-run -l dryrun -d 'Print each command, shell-quoted, instead of running it'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s t -l verbose -d 'Print each command to stderr as it starts, shell-quoted as --dry-run prints it (xargs -t)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s v -d 'Print each command on stdout, shell-quoted, just before its output and with its tag (GNU parallel -v; -vv is the same)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l plus -d 'GNU parallel\'s further replacement strings: {+/} {+.} {+..} {..} {/..} {0%} {##} {0#} {choose_k} {uniq}, and bash-like {:-STR} {:N} {:N:M} {#RE} {##RE} {%RE} {%%RE} {/RE/STR} {//RE/STR} {/#RE/STR} {/%RE/STR} {^RE} {^^RE} {,RE} {,,RE}; each also with a field number, {2:-x} or {-1+.}'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l number-of-cores -l number-of-cpus -d 'Print the number of physical CPU cores and exit, as GNU parallel (--number-of-cpus is its older name)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l number-of-threads -d 'Print the number of hardware threads (the CPUs the system schedules on) and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l number-of-sockets -d 'Print the number of CPU sockets and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l max-line-length-allowed -d 'Print the longest command line GNU parallel\'s probe finds here and exit, as GNU parallel (-m, -X and --xargs fill its half, less 1500 bytes)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l record-env -d 'Write the names of the variables set now to ~/.parallel/ignored_vars (or $PARALLEL_HOME/ignored_vars) and exit, as GNU parallel: --env _ then leaves them out'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l use-cpus-instead-of-cores -d 'Count N% and +N of --jobs and --load in CPU sockets instead of hardware threads, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l shellquote -d 'Run nothing: print each record (each line of stdin, or each ::: value) quoted for the shell, one per line, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s q -l quote -d 'Accepted as GNU parallel\'s -q: ppool passes each command word as it is, unquoted by any shell, unless --shell is given'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s M -l controlmaster -d 'Accepted as GNU parallel\'s -M: with --ssh, the tasks of a host always share one ssh connection (ssh\'s ControlMaster, its socket in a private directory of the run); PPOOL_SSH_CONTROLMASTER=no gives each task its own'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l noswap -d 'Start a task only while the machine is not swapping in and out at once, as GNU parallel measures it'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l files -d 'Print the path of a new file (DIR/parXXXXXX.par) holding each task\'s stdout instead of the stdout itself; the files are kept (stderr is printed as usual)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l compress -d 'Keep large output that waits on disk for its turn (imap, map) lz4-compressed, for output that compresses well; unordered prints each task\'s output as it ends, so nothing waits'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s k -l keep-order -d 'Accepted as GNU parallel\'s way to keep input order, which imap and map always keep (unordered refuses it)'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l transfer -d '--transferfile {}'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l cleanup -d 'Remove the task\'s --transferfile and --return files on the host after it, and the directories they leave empty'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l slurm -d 'Run each task through Slurm\'s srun: inside an allocation (an sbatch script) as a job step, with as many slots as it has tasks; outside one as a job of its own, at most --jobs at once'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l onall -d 'Run every record on every host (each pair is one task, numbered record by record); output lines are tagged with the host, as GNU parallel --onall'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l nonall -d 'Run the command once on every host, with no input; output lines are tagged with the host, as GNU parallel --nonall'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l hostgroups -l hgrp -d 'A record ending in @GROUP (or @G1+G2) runs only on the hosts of those groups, the suffix removed; hosts join groups as @G1+G2/HOST, and each is in the group of its own name; a record whose groups no host has runs anywhere, as GNU parallel --hostgroups'
complete -c ppool -n "__fish_ppool_using_subcommand map" -l line-buffer -l linebuffer -l lb -d 'unordered only: print whole lines as they arrive instead of whole tasks'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s u -l ungroup -d 'unordered only: print output as it arrives, as GNU parallel -u; ppool passes it in whole lines, as --line-buffer'
complete -c ppool -n "__fish_ppool_using_subcommand map" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s j -s P -l jobs -d 'Run N tasks at once, fewer if the system\'s thread, descriptor or address-space limit allows fewer (with a warning); N% of the CPUs; +N or -N: the CPUs plus or minus N; 0: as many as the system allows; FILE: its first line holds one of these, read again as tasks end (at most every second) to run more or fewer tasks, up to what 0 allows [default: number of CPUs]' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s a -l arg-file -d 'Read records from FILE instead of stdin; repeat for more input sources (- is stdin)' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l colsep -d 'Split each record on the literal string SEP into {1}, {2}, ... (\\t is a tab, \\\\ a backslash)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l colsep-regex -d 'Split each record where the regular expression RE matches, into {1}, {2}, ...' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l header -d '`:` takes the first line (or each source\'s first value) as column names for {name}; with --pipe, N lines or what the regular expression REGEXP matches at the start of the input top every block' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l trim -d 'Trim white space from each field or value: n (no), l (left), r (right), lr or rl (both)' -r -f -a "n\t''
l\t''
r\t''
lr\t''
rl\t''"
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l arg-sep -d 'Use SEP instead of ::: (and SEP+ instead of :::+) to start a source of arguments' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l arg-file-sep -d 'Use SEP instead of :::: (and SEP+ instead of ::::+) to start a source of files' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s n -s N -l max-args -d 'Up to N records per command (xargs -n; -N is GNU parallel\'s spelling): with no placeholder they are appended as arguments; {1}..{N} name them; -N0: one record per task, inserted nowhere' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s L -l max-lines -d 'Up to N input lines per command: the same as -n N (no continuation of lines ending in a blank, unlike xargs -L); with --pipe, records of N lines, as many whole ones per block as fit --block (GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l max-chars -d 'With -n, -X or -m: at most N bytes per command line, counting each argument and its NUL, as xargs -s does [default: with -X and -n, xargs\' (128 KiB, or the system\'s limit less the environment and 2 KiB, the lower: `xargs --show-limits`); with -m and --xargs, GNU parallel\'s (63664 bytes on Linux, or the system\'s limit, the lower)]' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l block -d 'With --pipe: blocks of about SIZE bytes (k, m, g: 1000s; K, M, G or Ki, Mi, Gi: 1024s, as GNU parallel); a record longer than SIZE makes its block longer; with --pipepart, -N cuts the file into N blocks per job slot (N × --jobs of about equal size) [default: 1M]' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l recend -d 'With --pipe: records end with STR (\\n newline, \\0 NUL, \\t tab, \\\\ backslash) [default: \\n, or nothing when only --recstart is given; -0: \\0]' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l recstart -d 'With --pipe: records start with STR; a block ends only where a --recend is followed by a --recstart' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s b -l builtin -d 'Run the registered builtin NAME in persistent workers (see `ppool builtins`)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l worker -d 'Start --jobs long-running copies of `sh -c CMD`; each record is one line on a worker\'s stdin, answered by its next stdout line (its stderr passes straight through)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l chunksize -d 'Records sent to a worker at a time: builtins [default: automatic, about 10ms of work a chunk]; --worker [default: 1], answered in order, a line each' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l max-tasks-per-worker -d 'Replace each builtin or --worker worker after it has run N tasks' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l halt -d 'When to stop, as GNU parallel: never (the default), or WHEN,WHY=N: WHEN now (stop the running tasks) or soon (let them finish), WHY fail, success or done, N a count or a percentage of all tasks (--fail-fast is now,fail=1)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l retries -d 'Run a failed task up to N more times (N+1 attempts in all; GNU parallel\'s --retries N means N in all)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l timeout -d 'Stop a task after DUR (500ms, 10s, 2m, 1h; at most 100 years; 0: no limit), or after N% of the median run time of the tasks that succeeded so far (as GNU parallel; measured when the task starts, no limit before one has succeeded); it fails with status timeout' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l grace -d 'Time between SIGTERM and SIGKILL when stopping a task (also after ppool itself was killed)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l output -d 'text: each task\'s output, whole; json: one object per task' -r -f -a "text\t'Each task\'s stdout and stderr, whole'
json\t'One JSON object per task on stdout'"
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l joblog -d 'Log each finished task to FILE, in GNU parallel\'s joblog format' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l results -d 'Save each task\'s stdout, stderr and outcome in files under DIR as it ends: DIR/SEQ/stdout, stderr, outcome.json; a DIR with placeholders (out/{1}/{2}) names them as GNU parallel does' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s I -d 'Use STR instead of {} for the whole record, in the command and --tagstring ({} is then plain text; {.}, {1}, {#} and the others keep their names), as xargs -I and GNU parallel -I' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l replace -d 'As -I STR; --replace alone is --replace={} (give STR with =, so that the command is not taken for it)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l tagstring -d 'Prefix each output line with STR, its placeholders ({}, {1}, {#}, {%}, ...) filled in for the task, and a TAB (implies --tag)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l extensionreplace -l er -d 'Use STR instead of {.} (the record without its extension), which is then plain text, as GNU parallel --er' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l basenamereplace -l bnr -d 'Use STR instead of {/} (the basename), as GNU parallel --bnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l dirnamereplace -l dnr -d 'Use STR instead of {//} (the dirname), as GNU parallel --dnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l basenameextensionreplace -l bner -d 'Use STR instead of {/.} (the basename without extension), as GNU parallel --bner' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l seqreplace -d 'Use STR instead of {#} (the task number), as GNU parallel --seqreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l slotreplace -d 'Use STR instead of {%} (the slot), as GNU parallel --slotreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s d -l delimiter -d 'Input records end with DELIM instead of a newline (xargs -d; C escapes such as \\n, \\t, \\0, \\x1f; several bytes are one delimiter, as GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s E -d 'Stop reading a stdin or file source at a record equal to EOF, as xargs -E (the rest is left unread)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l delay -d 'Start tasks at least DUR apart (500ms, 2s; a bare number is seconds), as GNU parallel --delay' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l nice -d 'Run ppool and its tasks at niceness N more than now (as nice -n N; below 0 needs root), as GNU parallel --nice' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l minversion -d 'Exit 0 if this ppool is at least VERSION (as 0.1.0), else 255 with a message: for scripts, as GNU parallel --minversion. A GNU parallel release date (20221122) is compared with the release whose behaviour ppool follows, 20221122, which is printed' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s J -l profile -d 'Put the options in ~/.config/ppool/NAME (else GNU parallel\'s ~/.parallel/NAME) before the command line\'s; repeatable. Without it, ~/.config/ppool/config (else ~/.parallel/config) is read when it exists' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l memfree -d 'Start a task only while at least SIZE of memory is free (500M, 2G; K, M, G, T are powers of 1024), as GNU parallel counts it; tasks already running are not stopped' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l load -d 'Start a task only while fewer than N threads are running or waiting for disk (N% of the CPUs with %), as GNU parallel measures its load' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l termseq -d 'GNU parallel\'s stop sequence, in the form ppool follows: TERM,MS (repeatable) then KILL,MS; the waits before KILL add up to --grace (TERM,200,TERM,100,KILL,25 is --grace 300ms)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l tmpdir -d 'The directory for --files [default: $TMPDIR, else /tmp]' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s S -l ssh -l sshlogin -d 'Run tasks on HOSTS through ssh (comma-separated, repeatable; N/host gives N slots, else as many as the host has CPUs, asked once, with --jobs N, N%, +N, -N applied to each host; \':\' is this machine; @G/host puts host in group G, @G alone uses only group G\'s hosts; the ssh command is $PPOOL_SSH, default ssh, or the host\'s own, as GNU writes it: \'ssh -p 2222 user@host\', the host last)' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l ssh-file -l sshloginfile -d 'Read ssh hosts from FILE, one per line (blank lines and # comments skipped); read again as tasks end (at most every second) when it changes: an added host gets tasks, a removed one no new tasks' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l transferfile -l tf -d 'Copy FILE (a template, usually {}) to the host before its task, to the same path under the remote working directory (the part after /./ when there is one; an absolute path stays where it is); repeatable. rsync when both ends have it, else tar through ssh. Not for \':\'' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l return -d 'Copy FILE (a template, such as {.}.out) back from the host after its task, to the same path here; repeatable. A task that succeeded but whose file cannot be copied fails with status transfer' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l trc -d '--transfer --return FILE --cleanup' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l workdir -l wd -d 'Run remote tasks in DIR (a template; relative to the login directory), made when missing. \'...\': a new directory per task under ~/.parallel/tmp, removed after it; \'.\': this directory, relative to the home directory when it is under it' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l env -d 'Give remote tasks the variable NAME with its value here (repeatable, or NAME,NAME). \'_\': every variable but those named in ~/.parallel/ignored_vars, else but those a login shell sets' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l slurm-args -d 'With --slurm: more srun options for every task, split into words as a shell would (--slurm-args \'--partition=short --time=10\')' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l cpus-per-task -d 'With --slurm: CPUs for each task\'s step or job (srun -c) [default: 1]' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l sshdelay -l ssh-delay -d 'Start a new ssh client at least DUR after the last (500ms, 2s; a bare number is seconds), as GNU parallel --sshdelay' -r
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s 0 -l null -d 'Input records are separated by NUL, not newline'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l csv -d 'Each record is a CSV record (RFC 4180: quoted fields may hold separators and newlines); fields are {1}, {2}, ...'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l link -d 'Pair the input sources value by value instead of taking their product; shorter sources wrap'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l json -d 'Each line is one JSON value (JSON Lines); enables {field} and {a.b.0}'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s X -d 'As many records per command as xargs puts on one (see --max-chars); a word with {} is repeated for each (GNU parallel -X)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l xargs -d 'As -m, but an input that ends in a batch shorter than the limit is not spread over the job slots (GNU parallel --xargs)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s m -d 'As many records per command as GNU parallel puts on one (see --max-chars); {} stands for all of them, as separate arguments (GNU parallel -m)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l pipe -d 'Cut stdin (or the one -a FILE) into blocks of whole records and write each block to the stdin of one task; the command gets no argument, {#} is the block number; -N N: N records per block; --header N (or :): the first N lines top every block'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l pipepart -l pipe-part -d 'As --pipe, for one seekable -a FILE: blocks are byte ranges found by seeking, each task reads its range from the file, so no data passes through one reader (--cat, --fifo and -N are for --pipe)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l regexp -d 'With --pipe: --recend and --recstart are regular expressions (Rust regex syntax)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l remove-rec-sep -l rrs -l removerecsep -d 'With --pipe: take the record separators out of each block (each --recend followed by a --recstart, a --recstart that starts it, a --recend that ends it), as GNU parallel --rrs'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l cat -d 'With --pipe: write each block to a temporary file instead of stdin; {} is its path (appended when the command has no placeholder); the file is removed when the task ends'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l fifo -d 'With --pipe: as --cat, but a named pipe the block is written into as the task reads it'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l round-robin -l roundrobin -d 'With --pipe or --pipepart: start --jobs tasks once and feed each the next block whenever it is ready for more, for commands slow to start; one result per task'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s s -l shell -d 'Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh); each substituted value is quoted for where it stands, and one that a second shell would read (the script of sh -c, eval) is refused'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l fail-fast -d 'On the first failed task: start no more, stop the running ones, exit with its code'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l collect-errors -d 'Run every task, then report every failure (the default)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l shuf -d 'Read all input first, then run the tasks in random order ({#} numbers them in that order), as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s r -l no-run-if-empty -d 'Leave out records with an empty or blank value, numbering the rest as if they never were (GNU parallel); a run with no input runs no task anyway'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l tag -d 'Prefix each output line with the record and a TAB'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l progress -l bar -d 'Show a progress bar on stderr (only when stderr is a terminal)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l eta -d 'Print GNU parallel\'s progress lines on stderr, terminal or not: a header, then after each task "ETA: 2s Left: 2 AVG: 1.11s  local:2/7/100%/1.1s" (the time left, tasks left, average seconds per task; running/done/share/average on this computer), rewritten in place with \\r'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l resume -d 'With --joblog: skip the tasks the log already holds'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l resume-failed -d 'With --joblog: skip the tasks the log holds as succeeded; re-run its failed ones'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l retry-failed -d 'With --joblog and no command or input: run again the command lines the log holds as failed, as GNU parallel --retry-failed'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l dry-run -l dryrun -d 'Print each command, shell-quoted, instead of running it'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s t -l verbose -d 'Print each command to stderr as it starts, shell-quoted as --dry-run prints it (xargs -t)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s v -d 'Print each command on stdout, shell-quoted, just before its output and with its tag (GNU parallel -v; -vv is the same)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l plus -d 'GNU parallel\'s further replacement strings: {+/} {+.} {+..} {..} {/..} {0%} {##} {0#} {choose_k} {uniq}, and bash-like {:-STR} {:N} {:N:M} {#RE} {##RE} {%RE} {%%RE} {/RE/STR} {//RE/STR} {/#RE/STR} {/%RE/STR} {^RE} {^^RE} {,RE} {,,RE}; each also with a field number, {2:-x} or {-1+.}'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l number-of-cores -l number-of-cpus -d 'Print the number of physical CPU cores and exit, as GNU parallel (--number-of-cpus is its older name)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l number-of-threads -d 'Print the number of hardware threads (the CPUs the system schedules on) and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l number-of-sockets -d 'Print the number of CPU sockets and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l max-line-length-allowed -d 'Print the longest command line GNU parallel\'s probe finds here and exit, as GNU parallel (-m, -X and --xargs fill its half, less 1500 bytes)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l record-env -d 'Write the names of the variables set now to ~/.parallel/ignored_vars (or $PARALLEL_HOME/ignored_vars) and exit, as GNU parallel: --env _ then leaves them out'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l use-cpus-instead-of-cores -d 'Count N% and +N of --jobs and --load in CPU sockets instead of hardware threads, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l shellquote -d 'Run nothing: print each record (each line of stdin, or each ::: value) quoted for the shell, one per line, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s q -l quote -d 'Accepted as GNU parallel\'s -q: ppool passes each command word as it is, unquoted by any shell, unless --shell is given'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s M -l controlmaster -d 'Accepted as GNU parallel\'s -M: with --ssh, the tasks of a host always share one ssh connection (ssh\'s ControlMaster, its socket in a private directory of the run); PPOOL_SSH_CONTROLMASTER=no gives each task its own'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l noswap -d 'Start a task only while the machine is not swapping in and out at once, as GNU parallel measures it'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l files -d 'Print the path of a new file (DIR/parXXXXXX.par) holding each task\'s stdout instead of the stdout itself; the files are kept (stderr is printed as usual)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l compress -d 'Keep large output that waits on disk for its turn (imap, map) lz4-compressed, for output that compresses well; unordered prints each task\'s output as it ends, so nothing waits'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s k -l keep-order -d 'Accepted as GNU parallel\'s way to keep input order, which imap and map always keep (unordered refuses it)'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l transfer -d '--transferfile {}'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l cleanup -d 'Remove the task\'s --transferfile and --return files on the host after it, and the directories they leave empty'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l slurm -d 'Run each task through Slurm\'s srun: inside an allocation (an sbatch script) as a job step, with as many slots as it has tasks; outside one as a job of its own, at most --jobs at once'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l onall -d 'Run every record on every host (each pair is one task, numbered record by record); output lines are tagged with the host, as GNU parallel --onall'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l nonall -d 'Run the command once on every host, with no input; output lines are tagged with the host, as GNU parallel --nonall'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l hostgroups -l hgrp -d 'A record ending in @GROUP (or @G1+G2) runs only on the hosts of those groups, the suffix removed; hosts join groups as @G1+G2/HOST, and each is in the group of its own name; a record whose groups no host has runs anywhere, as GNU parallel --hostgroups'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -l line-buffer -l linebuffer -l lb -d 'unordered only: print whole lines as they arrive instead of whole tasks'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s u -l ungroup -d 'unordered only: print output as it arrives, as GNU parallel -u; ppool passes it in whole lines, as --line-buffer'
complete -c ppool -n "__fish_ppool_using_subcommand imap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s j -s P -l jobs -d 'Run N tasks at once, fewer if the system\'s thread, descriptor or address-space limit allows fewer (with a warning); N% of the CPUs; +N or -N: the CPUs plus or minus N; 0: as many as the system allows; FILE: its first line holds one of these, read again as tasks end (at most every second) to run more or fewer tasks, up to what 0 allows [default: number of CPUs]' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s a -l arg-file -d 'Read records from FILE instead of stdin; repeat for more input sources (- is stdin)' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l colsep -d 'Split each record on the literal string SEP into {1}, {2}, ... (\\t is a tab, \\\\ a backslash)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l colsep-regex -d 'Split each record where the regular expression RE matches, into {1}, {2}, ...' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l header -d '`:` takes the first line (or each source\'s first value) as column names for {name}; with --pipe, N lines or what the regular expression REGEXP matches at the start of the input top every block' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l trim -d 'Trim white space from each field or value: n (no), l (left), r (right), lr or rl (both)' -r -f -a "n\t''
l\t''
r\t''
lr\t''
rl\t''"
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l arg-sep -d 'Use SEP instead of ::: (and SEP+ instead of :::+) to start a source of arguments' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l arg-file-sep -d 'Use SEP instead of :::: (and SEP+ instead of ::::+) to start a source of files' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s n -s N -l max-args -d 'Up to N records per command (xargs -n; -N is GNU parallel\'s spelling): with no placeholder they are appended as arguments; {1}..{N} name them; -N0: one record per task, inserted nowhere' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s L -l max-lines -d 'Up to N input lines per command: the same as -n N (no continuation of lines ending in a blank, unlike xargs -L); with --pipe, records of N lines, as many whole ones per block as fit --block (GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l max-chars -d 'With -n, -X or -m: at most N bytes per command line, counting each argument and its NUL, as xargs -s does [default: with -X and -n, xargs\' (128 KiB, or the system\'s limit less the environment and 2 KiB, the lower: `xargs --show-limits`); with -m and --xargs, GNU parallel\'s (63664 bytes on Linux, or the system\'s limit, the lower)]' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l block -d 'With --pipe: blocks of about SIZE bytes (k, m, g: 1000s; K, M, G or Ki, Mi, Gi: 1024s, as GNU parallel); a record longer than SIZE makes its block longer; with --pipepart, -N cuts the file into N blocks per job slot (N × --jobs of about equal size) [default: 1M]' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l recend -d 'With --pipe: records end with STR (\\n newline, \\0 NUL, \\t tab, \\\\ backslash) [default: \\n, or nothing when only --recstart is given; -0: \\0]' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l recstart -d 'With --pipe: records start with STR; a block ends only where a --recend is followed by a --recstart' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s b -l builtin -d 'Run the registered builtin NAME in persistent workers (see `ppool builtins`)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l worker -d 'Start --jobs long-running copies of `sh -c CMD`; each record is one line on a worker\'s stdin, answered by its next stdout line (its stderr passes straight through)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l chunksize -d 'Records sent to a worker at a time: builtins [default: automatic, about 10ms of work a chunk]; --worker [default: 1], answered in order, a line each' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l max-tasks-per-worker -d 'Replace each builtin or --worker worker after it has run N tasks' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l halt -d 'When to stop, as GNU parallel: never (the default), or WHEN,WHY=N: WHEN now (stop the running tasks) or soon (let them finish), WHY fail, success or done, N a count or a percentage of all tasks (--fail-fast is now,fail=1)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l retries -d 'Run a failed task up to N more times (N+1 attempts in all; GNU parallel\'s --retries N means N in all)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l timeout -d 'Stop a task after DUR (500ms, 10s, 2m, 1h; at most 100 years; 0: no limit), or after N% of the median run time of the tasks that succeeded so far (as GNU parallel; measured when the task starts, no limit before one has succeeded); it fails with status timeout' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l grace -d 'Time between SIGTERM and SIGKILL when stopping a task (also after ppool itself was killed)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l output -d 'text: each task\'s output, whole; json: one object per task' -r -f -a "text\t'Each task\'s stdout and stderr, whole'
json\t'One JSON object per task on stdout'"
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l joblog -d 'Log each finished task to FILE, in GNU parallel\'s joblog format' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l results -d 'Save each task\'s stdout, stderr and outcome in files under DIR as it ends: DIR/SEQ/stdout, stderr, outcome.json; a DIR with placeholders (out/{1}/{2}) names them as GNU parallel does' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s I -d 'Use STR instead of {} for the whole record, in the command and --tagstring ({} is then plain text; {.}, {1}, {#} and the others keep their names), as xargs -I and GNU parallel -I' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l replace -d 'As -I STR; --replace alone is --replace={} (give STR with =, so that the command is not taken for it)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l tagstring -d 'Prefix each output line with STR, its placeholders ({}, {1}, {#}, {%}, ...) filled in for the task, and a TAB (implies --tag)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l extensionreplace -l er -d 'Use STR instead of {.} (the record without its extension), which is then plain text, as GNU parallel --er' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l basenamereplace -l bnr -d 'Use STR instead of {/} (the basename), as GNU parallel --bnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l dirnamereplace -l dnr -d 'Use STR instead of {//} (the dirname), as GNU parallel --dnr' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l basenameextensionreplace -l bner -d 'Use STR instead of {/.} (the basename without extension), as GNU parallel --bner' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l seqreplace -d 'Use STR instead of {#} (the task number), as GNU parallel --seqreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l slotreplace -d 'Use STR instead of {%} (the slot), as GNU parallel --slotreplace' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s d -l delimiter -d 'Input records end with DELIM instead of a newline (xargs -d; C escapes such as \\n, \\t, \\0, \\x1f; several bytes are one delimiter, as GNU parallel)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s E -d 'Stop reading a stdin or file source at a record equal to EOF, as xargs -E (the rest is left unread)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l delay -d 'Start tasks at least DUR apart (500ms, 2s; a bare number is seconds), as GNU parallel --delay' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l nice -d 'Run ppool and its tasks at niceness N more than now (as nice -n N; below 0 needs root), as GNU parallel --nice' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l minversion -d 'Exit 0 if this ppool is at least VERSION (as 0.1.0), else 255 with a message: for scripts, as GNU parallel --minversion. A GNU parallel release date (20221122) is compared with the release whose behaviour ppool follows, 20221122, which is printed' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s J -l profile -d 'Put the options in ~/.config/ppool/NAME (else GNU parallel\'s ~/.parallel/NAME) before the command line\'s; repeatable. Without it, ~/.config/ppool/config (else ~/.parallel/config) is read when it exists' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l memfree -d 'Start a task only while at least SIZE of memory is free (500M, 2G; K, M, G, T are powers of 1024), as GNU parallel counts it; tasks already running are not stopped' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l load -d 'Start a task only while fewer than N threads are running or waiting for disk (N% of the CPUs with %), as GNU parallel measures its load' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l termseq -d 'GNU parallel\'s stop sequence, in the form ppool follows: TERM,MS (repeatable) then KILL,MS; the waits before KILL add up to --grace (TERM,200,TERM,100,KILL,25 is --grace 300ms)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l tmpdir -d 'The directory for --files [default: $TMPDIR, else /tmp]' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s S -l ssh -l sshlogin -d 'Run tasks on HOSTS through ssh (comma-separated, repeatable; N/host gives N slots, else as many as the host has CPUs, asked once, with --jobs N, N%, +N, -N applied to each host; \':\' is this machine; @G/host puts host in group G, @G alone uses only group G\'s hosts; the ssh command is $PPOOL_SSH, default ssh, or the host\'s own, as GNU writes it: \'ssh -p 2222 user@host\', the host last)' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l ssh-file -l sshloginfile -d 'Read ssh hosts from FILE, one per line (blank lines and # comments skipped); read again as tasks end (at most every second) when it changes: an added host gets tasks, a removed one no new tasks' -r -F
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l transferfile -l tf -d 'Copy FILE (a template, usually {}) to the host before its task, to the same path under the remote working directory (the part after /./ when there is one; an absolute path stays where it is); repeatable. rsync when both ends have it, else tar through ssh. Not for \':\'' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l return -d 'Copy FILE (a template, such as {.}.out) back from the host after its task, to the same path here; repeatable. A task that succeeded but whose file cannot be copied fails with status transfer' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l trc -d '--transfer --return FILE --cleanup' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l workdir -l wd -d 'Run remote tasks in DIR (a template; relative to the login directory), made when missing. \'...\': a new directory per task under ~/.parallel/tmp, removed after it; \'.\': this directory, relative to the home directory when it is under it' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l env -d 'Give remote tasks the variable NAME with its value here (repeatable, or NAME,NAME). \'_\': every variable but those named in ~/.parallel/ignored_vars, else but those a login shell sets' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l slurm-args -d 'With --slurm: more srun options for every task, split into words as a shell would (--slurm-args \'--partition=short --time=10\')' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l cpus-per-task -d 'With --slurm: CPUs for each task\'s step or job (srun -c) [default: 1]' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l sshdelay -l ssh-delay -d 'Start a new ssh client at least DUR after the last (500ms, 2s; a bare number is seconds), as GNU parallel --sshdelay' -r
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s 0 -l null -d 'Input records are separated by NUL, not newline'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l csv -d 'Each record is a CSV record (RFC 4180: quoted fields may hold separators and newlines); fields are {1}, {2}, ...'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l link -d 'Pair the input sources value by value instead of taking their product; shorter sources wrap'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l json -d 'Each line is one JSON value (JSON Lines); enables {field} and {a.b.0}'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s X -d 'As many records per command as xargs puts on one (see --max-chars); a word with {} is repeated for each (GNU parallel -X)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l xargs -d 'As -m, but an input that ends in a batch shorter than the limit is not spread over the job slots (GNU parallel --xargs)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s m -d 'As many records per command as GNU parallel puts on one (see --max-chars); {} stands for all of them, as separate arguments (GNU parallel -m)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l pipe -d 'Cut stdin (or the one -a FILE) into blocks of whole records and write each block to the stdin of one task; the command gets no argument, {#} is the block number; -N N: N records per block; --header N (or :): the first N lines top every block'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l pipepart -l pipe-part -d 'As --pipe, for one seekable -a FILE: blocks are byte ranges found by seeking, each task reads its range from the file, so no data passes through one reader (--cat, --fifo and -N are for --pipe)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l regexp -d 'With --pipe: --recend and --recstart are regular expressions (Rust regex syntax)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l remove-rec-sep -l rrs -l removerecsep -d 'With --pipe: take the record separators out of each block (each --recend followed by a --recstart, a --recstart that starts it, a --recend that ends it), as GNU parallel --rrs'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l cat -d 'With --pipe: write each block to a temporary file instead of stdin; {} is its path (appended when the command has no placeholder); the file is removed when the task ends'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l fifo -d 'With --pipe: as --cat, but a named pipe the block is written into as the task reads it'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l round-robin -l roundrobin -d 'With --pipe or --pipepart: start --jobs tasks once and feed each the next block whenever it is ready for more, for commands slow to start; one result per task'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s s -l shell -d 'Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh); each substituted value is quoted for where it stands, and one that a second shell would read (the script of sh -c, eval) is refused'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l fail-fast -d 'On the first failed task: start no more, stop the running ones, exit with its code'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l collect-errors -d 'Run every task, then report every failure (the default)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l shuf -d 'Read all input first, then run the tasks in random order ({#} numbers them in that order), as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s r -l no-run-if-empty -d 'Leave out records with an empty or blank value, numbering the rest as if they never were (GNU parallel); a run with no input runs no task anyway'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l line-buffer -l linebuffer -l lb -d 'unordered only: print whole lines as they arrive instead of whole tasks'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l tag -d 'Prefix each output line with the record and a TAB'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l progress -l bar -d 'Show a progress bar on stderr (only when stderr is a terminal)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l eta -d 'Print GNU parallel\'s progress lines on stderr, terminal or not: a header, then after each task "ETA: 2s Left: 2 AVG: 1.11s  local:2/7/100%/1.1s" (the time left, tasks left, average seconds per task; running/done/share/average on this computer), rewritten in place with \\r'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l resume -d 'With --joblog: skip the tasks the log already holds'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l resume-failed -d 'With --joblog: skip the tasks the log holds as succeeded; re-run its failed ones'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l retry-failed -d 'With --joblog and no command or input: run again the command lines the log holds as failed, as GNU parallel --retry-failed'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l dry-run -l dryrun -d 'Print each command, shell-quoted, instead of running it'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s t -l verbose -d 'Print each command to stderr as it starts, shell-quoted as --dry-run prints it (xargs -t)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s v -d 'Print each command on stdout, shell-quoted, just before its output and with its tag (GNU parallel -v; -vv is the same)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l plus -d 'GNU parallel\'s further replacement strings: {+/} {+.} {+..} {..} {/..} {0%} {##} {0#} {choose_k} {uniq}, and bash-like {:-STR} {:N} {:N:M} {#RE} {##RE} {%RE} {%%RE} {/RE/STR} {//RE/STR} {/#RE/STR} {/%RE/STR} {^RE} {^^RE} {,RE} {,,RE}; each also with a field number, {2:-x} or {-1+.}'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l number-of-cores -l number-of-cpus -d 'Print the number of physical CPU cores and exit, as GNU parallel (--number-of-cpus is its older name)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l number-of-threads -d 'Print the number of hardware threads (the CPUs the system schedules on) and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l number-of-sockets -d 'Print the number of CPU sockets and exit, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l max-line-length-allowed -d 'Print the longest command line GNU parallel\'s probe finds here and exit, as GNU parallel (-m, -X and --xargs fill its half, less 1500 bytes)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l record-env -d 'Write the names of the variables set now to ~/.parallel/ignored_vars (or $PARALLEL_HOME/ignored_vars) and exit, as GNU parallel: --env _ then leaves them out'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l use-cpus-instead-of-cores -d 'Count N% and +N of --jobs and --load in CPU sockets instead of hardware threads, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l shellquote -d 'Run nothing: print each record (each line of stdin, or each ::: value) quoted for the shell, one per line, as GNU parallel'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s q -l quote -d 'Accepted as GNU parallel\'s -q: ppool passes each command word as it is, unquoted by any shell, unless --shell is given'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s u -l ungroup -d 'unordered only: print output as it arrives, as GNU parallel -u; ppool passes it in whole lines, as --line-buffer'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s M -l controlmaster -d 'Accepted as GNU parallel\'s -M: with --ssh, the tasks of a host always share one ssh connection (ssh\'s ControlMaster, its socket in a private directory of the run); PPOOL_SSH_CONTROLMASTER=no gives each task its own'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l noswap -d 'Start a task only while the machine is not swapping in and out at once, as GNU parallel measures it'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l files -d 'Print the path of a new file (DIR/parXXXXXX.par) holding each task\'s stdout instead of the stdout itself; the files are kept (stderr is printed as usual)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l compress -d 'Keep large output that waits on disk for its turn (imap, map) lz4-compressed, for output that compresses well; unordered prints each task\'s output as it ends, so nothing waits'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l transfer -d '--transferfile {}'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l cleanup -d 'Remove the task\'s --transferfile and --return files on the host after it, and the directories they leave empty'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l slurm -d 'Run each task through Slurm\'s srun: inside an allocation (an sbatch script) as a job step, with as many slots as it has tasks; outside one as a job of its own, at most --jobs at once'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l onall -d 'Run every record on every host (each pair is one task, numbered record by record); output lines are tagged with the host, as GNU parallel --onall'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l nonall -d 'Run the command once on every host, with no input; output lines are tagged with the host, as GNU parallel --nonall'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -l hostgroups -l hgrp -d 'A record ending in @GROUP (or @G1+G2) runs only on the hosts of those groups, the suffix removed; hosts join groups as @G1+G2/HOST, and each is in the group of its own name; a record whose groups no host has runs anywhere, as GNU parallel --hostgroups'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s k -l keep-order -d 'Accepted as GNU parallel\'s way to keep input order, which imap and map always keep (unordered refuses it)'
complete -c ppool -n "__fish_ppool_using_subcommand unordered" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "submit" -d 'Hand one task to a named pool that lives between commands; print its id [Pool.apply_async]'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "get" -d 'Wait for one submitted task, print its output whole, exit with its status [AsyncResult.get]'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "wait" -d 'Wait for every submitted task, print the results no `get` printed and every failure, then end the pool'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "status" -d 'List a pool\'s tasks: id, state, running time, exit status, command'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "pools" -d 'List the running pools, with how many tasks each has'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "cancel" -d 'Stop a submitted task, or every task of the pool: SIGTERM, SIGKILL after the task\'s --grace'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "builtins" -d 'List the registered builtins with a line of help each'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish)'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "man" -d 'Print the man page (roff)'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "apply" -d 'Run exactly one task with stdin, stdout and stderr passed through [Pool.apply]'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "map" -d 'Run every task, then print all results in input order [Pool.map]'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "imap" -d 'Print each result as soon as it and every task before it have ended [Pool.imap]'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "unordered" -d 'Print each result as soon as its task ends [Pool.imap_unordered]'
complete -c ppool -n "__fish_ppool_using_subcommand help; and not __fish_seen_subcommand_from submit get wait status pools cancel builtins completions man apply map imap unordered help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
