#Requires -Version 7.4
<#
.SYNOPSIS
    The cmdlet-level benchmark (issue 14): what a user pays per call through the staged module's cmdlets.
.DESCRIPTION
    Never run by CI (the figures need a quiet machine). Run by hand, after a Release build:
        dotnet pwsh ./build.ps1 -Task Benchmark                      # N = 2000, one round
        dotnet pwsh tests/HttpCache.Benchmarks/cmdlet-bench.ps1 -Calls 500 -Rounds 3
        dotnet pwsh tests/HttpCache.Benchmarks/cmdlet-bench.ps1 -ScaleEntries 1000000 -SkipCalls

    Every figure runs in a fresh pwsh process that imports the staged module (module/HttpCache.psd1), makes
    -WarmUp untimed calls (distinct URLs), then -Calls timed ones, each timed alone with Stopwatch around one
    pipeline in the same compiled loop, so the loop's own cost is in every figure alike, floor included.
    The figures of one round run one after the other (interleaved), against one loopback origin served by
    this process (a TcpListener answering HTTP/1.1 keep-alive from its own tasks, each answer in one send with
    Nagle off: 200, a JSON body of -BodySize bytes, Cache-Control: max-age=3600).

    The floor is Get-BenchFloor: a binary cmdlet compiled with Add-Type that writes one object. Every median is
    also given as a ratio to it. Redis figures use a redis-server this script starts on a free loopback port
    and stops afterwards; "Redis raw GET" is one StackExchange.Redis StringGet made from the same loop, the
    round trip the Redis target allows on top of the Memory hit. Made back to back, those round trips find the
    client's and the server's threads still awake; "Memory hit + raw GET" makes each one right after a Memory hit, in
    the same timed iteration, so the round trip costs what it costs a Redis hit, which also follows a cmdlet's work.

    -Only WebMiss (or any of the figures' kinds) measures those figures and the floor alone. -Dump <folder> also writes,
    for each figure, one CSV line per timed call: its µs and what happened in the process meanwhile (collections and
    their pause, methods JIT-compiled and the JIT's time, contended locks, thread-pool work items, the calling thread's
    CPU time, context switches, page faults and time spent runnable but waiting for a core, the process's CPU
    time, and the bytes the calling thread allocated): where the slow calls of a tail come from (docs/performance.md,
    "The misses' tail"), and a measure of a call's work that a noisy host does not move.
        dotnet pwsh tests/HttpCache.Benchmarks/cmdlet-bench.ps1 -Only WebMiss -Backend Sqlite,FileSystem -Dump /tmp/calls

    -ScaleEntries N builds an N-entry SQLite store by direct inserts (one transaction; 100 hosts, 1 KiB bodies, half of
    them expired) and times, in a fresh pwsh, Get-HttpCacheEntry -Uri (exact and a prefix wildcard), Get-HttpCacheStats
    and -GroupBy Host. Then it builds a 1,000-entry store the same way and times an Invoke-CachedWebRequest hit against
    each store, -Rounds times interleaved (each a fresh pwsh, -Calls hits over 200 URLs it stored first): the ratio of
    the two medians is the issue's "a hit at a million entries <= 1.2x its figure at 1,000".
#>
[CmdletBinding()]
param(
    [int] $Calls = 2000,
    [int] $WarmUp = 50,
    [int] $BodySize = 1024,
    [int] $Rounds = 1,
    [ValidateSet('Memory', 'Sqlite', 'FileSystem', 'Redis')]
    [string[]] $Backend = @('Memory', 'Sqlite', 'FileSystem', 'Redis'),
    [int] $ScaleEntries = 0,
    [switch] $SkipCalls,
    # With -ScaleEntries: drop the URI index after filling, to show what a -Uri filter costs without it.
    [switch] $WithoutUriIndex,
    # Only these figures (the floor always runs: every median is a ratio to it).
    [ValidateSet('IwrSession', 'WebHit', 'RestHit', 'WebMiss', 'RawGet', 'MemoryHitRawGet')]
    [string[]] $Only,
    # A folder: each figure also writes one CSV line per timed call (its µs, and what happened in the process during
    # it: collections and their pause, methods JIT-compiled, contended locks, the calling thread's CPU time, context
    # switches, page faults, bytes allocated). The probes cost a few µs a call, so figures taken with it are not for quoting.
    [string] $Dump,
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../../module/HttpCache.psd1'),

    # Internal: set when this script runs itself as the child that measures one figure.
    [string] $Figure
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Get-Percentile([double[]] $sorted, [double] $p) {
    $sorted[[math]::Min($sorted.Length - 1, [math]::Ceiling($p * $sorted.Length) - 1)]
}

# ---------------------------------------------------------------- child: one figure in a fresh process
if ($Figure) {
    $spec = $Figure | ConvertFrom-Json
    Import-Module $ModuleManifest
    $scratch = Join-Path ([IO.Path]::GetTempPath()) "httpcache-bench-$PID"
    $null = New-Item -ItemType Directory -Force $scratch
    try {
        $session = switch ($spec.Backend) {
            'Memory' { New-HttpCacheSession -Backend Memory }
            # A scale figure names its own file; StrictMode forbids reading a property the spec lacks.
            'Sqlite' { New-HttpCacheSession -Backend Sqlite -Path ($spec.PSObject.Properties['Path'] ? $spec.Path : (Join-Path $scratch 'cache.db')) }
            'FileSystem' { New-HttpCacheSession -Backend FileSystem -Path (Join-Path $scratch 'cache') }
            'Redis' { New-HttpCacheSession -Backend Redis -RedisConfiguration $spec.Redis -Namespace "bench$PID" }
            default { $null }
        }

        if ($spec.Kind -eq 'Scale') {
            $session = New-HttpCacheSession -Backend Sqlite -Path $spec.Path
            $timed = [ordered]@{
                'Get-HttpCacheEntry -Uri (exact)'  = { @(Get-HttpCacheEntry -Session $session -Uri $spec.Exact) }
                'Get-HttpCacheEntry -Uri (prefix)' = { @(Get-HttpCacheEntry -Session $session -Uri $spec.Prefix) }
                'Get-HttpCacheStats'               = { Get-HttpCacheStats -Session $session }
                'Get-HttpCacheStats -GroupBy Host' = { @(Get-HttpCacheStats -Session $session -GroupBy Host) }
            }
            $rows = foreach ($name in $timed.Keys) {
                $found = @(& $timed[$name]).Count   # first call: opens the file, JITs the path
                $ms = foreach ($i in 1..3) { (Measure-Command $timed[$name]).TotalMilliseconds }
                [pscustomobject]@{ Name = $name; MedianMs = [math]::Round(($ms | Sort-Object)[1], 2); Found = $found }
            }
            $rows | ConvertTo-Json -Compress
            return
        }

        $origin = $spec.Origin
        $call = switch ($spec.Kind) {
            'Floor' {
                Add-Type -TypeDefinition @'
using System.Management.Automation;
[Cmdlet(VerbsCommon.Get, "BenchFloor")]
public sealed class GetBenchFloorCommand : PSCmdlet
{
    [Parameter(Position = 0)] public string Uri { get; set; }
    protected override void ProcessRecord() => WriteObject(new System.Uri(Uri));
}
'@ -PassThru | Select-Object -First 1 | ForEach-Object { Import-Module -Assembly $_.Assembly }
                'Get-BenchFloor $u'
            }
            'IwrSession' { $web = New-Object Microsoft.PowerShell.Commands.WebRequestSession; 'Invoke-WebRequest -Uri $u -WebSession $web' }
            'RawGet' {
                # The session's own multiplexer: StackExchange.Redis lives in the module's load context.
                $db = $session.RedisConnection.GetDatabase()
                $null = $db.StringSet('bench-raw', [byte[]]::new($spec.BodySize))
                '$db.StringGet(''bench-raw'')'
            }
            'WebHit' { 'Invoke-CachedWebRequest -Uri $u -Session $session' }
            'WebMiss' { 'Invoke-CachedWebRequest -Uri $u -Session $session' }
            'RestHit' { 'Invoke-CachedRestMethod -Uri $u -Session $session' }
            'MemoryHitRawGet' {
                $redisSession = New-HttpCacheSession -Backend Redis -RedisConfiguration $spec.Redis -Namespace "bench$PID"
                $db = $redisSession.RedisConnection.GetDatabase()
                $null = $db.StringSet('bench-raw', [byte[]]::new($spec.BodySize))
                'Invoke-CachedWebRequest -Uri $u -Session $session; $null = $db.StringGet(''bench-raw'')'
            }
        }

        # Hits cycle over 200 stored URLs; the other figures use a new URL per call.
        $hit = $spec.Kind -in 'WebHit', 'RestHit', 'MemoryHitRawGet'
        $run = "$PID-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $urls = if ($hit) { foreach ($i in 0..199) { "$origin/hit/$run/$i" } }
        else { foreach ($i in 0..($spec.WarmUp + $spec.Calls - 1)) { "$origin/miss/$run/$i" } }
        if ($hit) {
            foreach ($u in $urls) { $null = Invoke-CachedWebRequest -Uri $u -Session $session }
            $before = (Get-HttpCacheStats -Session $session).Hits
            $null = Invoke-CachedWebRequest -Uri $urls[0] -Session $session
            if ((Get-HttpCacheStats -Session $session).Hits -ne $before + 1) { throw "The hit figure's URLs are not served from the cache." }
        }

        $probe = $null
        # A scale figure's hits carry no Dump; StrictMode forbids reading a property the spec lacks.
        if ($spec.PSObject.Properties['Dump'] -and $spec.Dump) {
            Add-Type -TypeDefinition @'
using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
// What happened in the process during each timed call: counters read before and after it (Linux: getrusage and
// clock_gettime for the calling thread's CPU time, context switches and page faults, and the process's CPU time).
public sealed class BenchProbe
{
    private const int Columns = 16;
    private readonly long[] _before = new long[Columns];
    private readonly long[][] _rows;
    private readonly long _origin = Stopwatch.GetTimestamp();
    public BenchProbe(int calls) { _rows = new long[calls][]; }

    [DllImport("libc", SetLastError = true)] private static extern int getrusage(int who, long[] usage);
    [DllImport("libc", SetLastError = true)] private static extern int clock_gettime(int clock, long[] time);

    private readonly long[] _usage = new long[18];
    private readonly long[] _clock = new long[2];
    private readonly long[] _threadClock = new long[2];

    private void Read(long[] into)
    {
        var usage = _usage;
        getrusage(1, usage);   // RUSAGE_THREAD
        var clock = _clock;
        clock_gettime(2, clock);   // CLOCK_PROCESS_CPUTIME_ID
        clock_gettime(3, _threadClock);   // CLOCK_THREAD_CPUTIME_ID
        into[0] = Stopwatch.GetTimestamp();
        into[1] = GC.CollectionCount(0);
        into[2] = GC.CollectionCount(1);
        into[3] = GC.CollectionCount(2);
        into[4] = (long)GC.GetTotalPauseDuration().TotalMicroseconds;
        into[5] = System.Runtime.JitInfo.GetCompiledMethodCount(false);
        into[6] = (long)System.Runtime.JitInfo.GetCompilationTime(false).TotalMicroseconds;
        into[7] = Monitor.LockContentionCount;
        into[8] = ThreadPool.CompletedWorkItemCount;
        into[9] = _threadClock[0] * 1000000 + _threadClock[1] / 1000;   // the thread's CPU µs
        into[10] = usage[16];   // voluntary context switches
        into[11] = usage[17];   // involuntary ones
        into[12] = usage[8];    // minor page faults
        into[13] = clock[0] * 1000000 + clock[1] / 1000;   // the process's CPU µs
        // The calling thread's time spent runnable but waiting for a core (the second figure of schedstat, ns).
        into[14] = long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[1]) / 1000;
        // Bytes the calling thread allocated: a measure of the call's work that a noisy host does not move.
        into[15] = GC.GetAllocatedBytesForCurrentThread();
    }

    public void Begin() => Read(_before);

    public void End(int call, long ticks)
    {
        var after = new long[Columns];
        Read(after);
        var row = new long[Columns + 1];
        row[0] = (_before[0] - _origin) * 1000000 / Stopwatch.Frequency;   // when the call started, µs into the loop
        row[1] = ticks * 1000000 / Stopwatch.Frequency;
        for (var c = 1; c < Columns; c++) { row[c + 1] = after[c] - _before[c]; }
        _rows[call] = row;
    }

    public void Write(string path)
    {
        var text = new StringBuilder("start_us,us,gen0,gen1,gen2,gc_pause_us,jit_methods,jit_us,lock_contentions,pool_items,thread_cpu_us,vcsw,ivcsw,minflt,process_cpu_us,runqueue_us,thread_alloc_bytes\n");
        foreach (var row in _rows) { if (row != null) { text.AppendLine(string.Join(",", row)); } }
        File.WriteAllText(path, text.ToString());
    }
}
'@
            $probe = [BenchProbe]::new($spec.Calls)
        }
        $loop = [scriptblock]::Create(@"
param(`$urls, `$offset, `$count, `$ticks, `$calls)
for (`$i = 0; `$i -lt `$count; `$i++) {
    `$u = `$urls[(`$offset + `$i) % `$urls.Count]
    $(if ($probe) { '$calls.Begin()' })
    `$t = [System.Diagnostics.Stopwatch]::GetTimestamp()
    `$null = $call
    `$ticks[`$i] = [System.Diagnostics.Stopwatch]::GetTimestamp() - `$t
    $(if ($probe) { '$calls.End($i, $ticks[$i])' })
}
"@)
        $warm = [long[]]::new($spec.WarmUp)
        . $loop $urls 0 $spec.WarmUp $warm ($probe ? [BenchProbe]::new($spec.WarmUp) : $null)
        $ticks = [long[]]::new($spec.Calls)
        . $loop $urls $spec.WarmUp $spec.Calls $ticks $probe
        if ($probe) { $probe.Write((Join-Path $spec.Dump "$($spec.Kind)-$($spec.Backend)-$($spec.BodySize)-$PID.csv")) }
        $us = [double[]]($ticks | ForEach-Object { $_ * 1e6 / [System.Diagnostics.Stopwatch]::Frequency } | Sort-Object)
        [pscustomobject]@{ Median = Get-Percentile $us 0.5; P99 = Get-Percentile $us 0.99 } | ConvertTo-Json -Compress
    }
    finally {
        Remove-Item -Recurse -Force $scratch -ErrorAction SilentlyContinue
    }
    return
}

# ---------------------------------------------------------------- driver
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
. (Join-Path $PSScriptRoot 'BenchDriver.ps1')

Add-Type -TypeDefinition @'
using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
public static class BenchOrigin
{
    // A minimal HTTP/1.1 keep-alive origin on a TcpListener, answering from its own tasks (no PowerShell in the
    // loop) with each answer in one send on a socket with Nagle off. HttpListener sent the head and the body
    // apart, and a 64 KiB body then waited for the client's delayed ACK: 40 ms a request, for every client alike.
    public static TcpListener Start(int port, int bodySize)
    {
        var body = Encoding.ASCII.GetBytes("{\"data\":\"" + new string('x', Math.Max(0, bodySize - 12)) + "\"}");
        var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=3600\r\nDate: " + DateTime.UtcNow.ToString("r") + "\r\nContent-Length: " + body.Length + "\r\n\r\n");
        var answer = new byte[head.Length + body.Length];
        head.CopyTo(answer, 0);
        body.CopyTo(answer, head.Length);
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Task.Run(async () =>
        {
            while (true)
            {
                Socket socket;
                try { socket = await listener.AcceptSocketAsync(); } catch (Exception) { return; }
                socket.NoDelay = true;
                _ = Task.Run(() => ServeAsync(socket, answer));
            }
        });
        return listener;
    }

    private static async Task ServeAsync(Socket socket, byte[] answer)
    {
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (true)
            {
                // Requests are GETs without a body: one answer per head read (pipelined heads each get theirs).
                var end = IndexOfHeadEnd(buffer, filled);
                while (end < 0)
                {
                    var n = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, filled, buffer.Length - filled), SocketFlags.None);
                    if (n == 0) { return; }
                    filled += n;
                    end = IndexOfHeadEnd(buffer, filled);
                }

                await socket.SendAsync(new ArraySegment<byte>(answer), SocketFlags.None);
                Buffer.BlockCopy(buffer, end, buffer, 0, filled - end);
                filled -= end;
            }
        }
        catch (Exception) { }
        finally { socket.Dispose(); }
    }

    private static int IndexOfHeadEnd(byte[] buffer, int length)
    {
        for (var i = 3; i < length; i++)
        {
            if (buffer[i] == '\n' && buffer[i - 1] == '\r' && buffer[i - 2] == '\n' && buffer[i - 3] == '\r') { return i + 1; }
        }

        return -1;
    }
}
'@

$redisProcess = $null
$listener = $null
$results = [System.Collections.Generic.List[object]]::new()
try {
    $port = Get-FreePort
    $listener = [BenchOrigin]::Start($port, $BodySize)
    $origin = "http://127.0.0.1:$port"
    if (-not $SkipCalls) {
        $redis = $null
        if ('Redis' -in $Backend) {
            $redisPort = Get-FreePort
            $redisProcess = Start-Process redis-server -ArgumentList '--port', $redisPort, '--bind', '127.0.0.1', '--save', "''", '--appendonly', 'no' -PassThru -RedirectStandardOutput ([IO.Path]::GetTempFileName())
            $redis = "127.0.0.1:$redisPort"
            Start-Sleep -Milliseconds 300   # redis-server binds its port before it answers; the first child connects later anyway
        }

        $figures = @(
            @{ Name = 'Floor (Get-BenchFloor)'; Kind = 'Floor'; Backend = '' }
            @{ Name = 'Invoke-WebRequest -WebSession'; Kind = 'IwrSession'; Backend = '' }
            foreach ($b in $Backend) {
                @{ Name = 'Invoke-CachedWebRequest hit'; Kind = 'WebHit'; Backend = $b }
                @{ Name = 'Invoke-CachedRestMethod hit'; Kind = 'RestHit'; Backend = $b }
                @{ Name = 'Invoke-CachedWebRequest miss'; Kind = 'WebMiss'; Backend = $b }
            }
            if ($redis) { @{ Name = 'Redis raw GET (StringGet)'; Kind = 'RawGet'; Backend = 'Redis' } }
            if ($redis -and 'Memory' -in $Backend) { @{ Name = 'Memory hit + raw GET, one iteration'; Kind = 'MemoryHitRawGet'; Backend = 'Memory' } }
        ) | Where-Object { -not $Only -or $_.Kind -eq 'Floor' -or $_.Kind -in $Only }
        if ($Dump) { $Dump = (New-Item -ItemType Directory -Force $Dump).FullName }
        foreach ($round in 1..$Rounds) {
            foreach ($f in $figures) {
                Write-Host "round $round/$Rounds  $($f.Name) $($f.Backend)"
                $r = Invoke-Figure (@{ Origin = $origin; Redis = $redis; WarmUp = $WarmUp; Calls = $Calls; BodySize = $BodySize; Dump = $Dump } + $f)
                $results.Add([pscustomobject]@{ Round = $round; Name = $f.Name; Backend = $f.Backend; Median = $r.Median; P99 = $r.P99 })
            }
        }
        $median = @{}
        $table = foreach ($f in $figures) {
            $runs = @($results | Where-Object { $_.Name -eq $f.Name -and $_.Backend -eq $f.Backend })
            $medians = @($runs.Median | Sort-Object)
            $median["$($f.Kind)/$($f.Backend)"] = $m = $medians[[int][math]::Floor(($medians.Count - 1) / 2)]
            [pscustomobject]@{
                Path        = $f.Name
                Backend     = $f.Backend
                'Median µs' = [math]::Round($m, 1)
                'Spread µs' = if ($medians.Count -gt 1) { '{0:N0}–{1:N0}' -f $medians[0], $medians[-1] } else { '' }
                'p99 µs'    = [math]::Round(($runs.P99 | Measure-Object -Maximum).Maximum, 1)
                'p99/median' = [math]::Round(($runs.P99 | Measure-Object -Maximum).Maximum / $m, 1)
                'x floor'   = [math]::Round($m / $median['Floor/'], 2)   # the floor is the first figure
            }
        }
        "`n$Calls calls after $WarmUp warm-up URLs, $BodySize-byte bodies, $Rounds round(s); median of the rounds' medians, p99 the worst round's."
        $table | Format-Table -AutoSize | Out-String -Width 200

        # The issue's targets, as far as this run measured them.
        $targets = [ordered]@{
            'Memory hit <= 60 µs'                                  = { $median['WebHit/Memory'] -le 60 }
            'SQLite hit <= 75 µs'                                  = { $median['WebHit/Sqlite'] -le 75 }
            'Redis hit <= Memory hit + raw GET'                    = { $median['WebHit/Redis'] -le $median['WebHit/Memory'] + $median['RawGet/Redis'] }
            'Redis hit <= Memory hit + raw GET, one iteration'     = { $median['WebHit/Redis'] -le $median['MemoryHitRawGet/Memory'] }
            'RestMethod hit <= its WebRequest hit + 30 µs (SQLite)' = { $median['RestHit/Sqlite'] -le $median['WebHit/Sqlite'] + 30 }
            'SQLite miss <= 1.1x Invoke-WebRequest -WebSession'    = { $median['WebMiss/Sqlite'] -le 1.1 * $median['IwrSession/'] }
        }
        # Tail: p99 <= 4x the median on every path this run measured (the worst round's p99 against the median of medians).
        foreach ($row in $table) {
            $targets["p99 <= 4x median: $($row.Path) $($row.Backend)".TrimEnd()] = [scriptblock]::Create("$($row.'p99/median') -le 4")
        }
        $targets.GetEnumerator() | ForEach-Object {
            # A target whose figures this run did not measure (a -Backend left out) compares with $null: skip it.
            $needed = [regex]::Matches($_.Value.ToString(), "'([A-Za-z]+/[A-Za-z]*)'").ForEach({ $_.Groups[1].Value })
            if (@($needed | Where-Object { -not $median.ContainsKey($_) }).Count -eq 0) {
                [pscustomobject]@{ Target = $_.Key; Met = [bool](& $_.Value) }
            }
        } | Format-Table -AutoSize | Out-String -Width 200
    }

    if ($ScaleEntries -gt 0) {
        Import-Module $ModuleManifest
        $null = New-HttpCacheSession -Backend Memory   # loads the engine, and with it the module's load context
        # Microsoft.Data.Sqlite lives in the module's own load context, with its native library.
        $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'HttpCache'
        $sqlite = $context.LoadFromAssemblyName([Reflection.AssemblyName]'Microsoft.Data.Sqlite').GetType('Microsoft.Data.Sqlite.SqliteConnection')
        function New-ScaleStore([int] $count) {
            $path = Join-Path ([IO.Path]::GetTempPath()) "httpcache-scale-$PID-$count.db"
            $null = New-HttpCacheSession -Backend Sqlite -Path $path   # creates the file at the current schema
            $connection = [Activator]::CreateInstance($sqlite, [object[]]@("Data Source=$path"))
            $connection.Open()
            $fill = $connection.CreateCommand()
            # 100 hosts, one 1 KiB body each entry, every other one expired; the running totals (the store's and each
            # host's) are set once at the end, as the store's writer would have kept them.
            $fill.CommandText = @'
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $count - 1)
INSERT INTO entries (key, primary_key, method, uri, status, created_at, expires_at, size, metadata, body, host)
SELECT 'GET http://host' || (i % 100) || '.example/item/' || i, 'GET http://host' || (i % 100) || '.example/item/' || i,
       'GET', 'http://host' || (i % 100) || '.example/item/' || i, 200, 638000000000000000 + i,
       CASE WHEN i % 2 = 0 THEN 638500000000000000 ELSE 648000000000000000 END, 1024 + 16,
       zeroblob(16), zeroblob(1024), 'host' || (i % 100) || '.example'
FROM n;
UPDATE totals SET entries = (SELECT COUNT(*) FROM entries), bytes = (SELECT SUM(size) FROM entries) WHERE id = 1;
INSERT INTO hosts (host, entries, bytes, hits) SELECT host, COUNT(*), SUM(size), SUM(hit_count) FROM entries GROUP BY host;
'@
            if ($WithoutUriIndex) { $fill.CommandText += 'DROP INDEX ix_entries_uri;' }
            $null = $fill.Parameters.AddWithValue('$count', $count)
            $transaction = $connection.BeginTransaction()
            $fill.Transaction = $transaction
            $fillTime = Measure-Command { $null = $fill.ExecuteNonQuery(); $transaction.Commit() }
            $connection.Close()
            $sqlite::ClearAllPools()
            Write-Host "Scale: $count SQLite entries inserted directly in $([math]::Round($fillTime.TotalSeconds, 1)) s"
            $path
        }

        $path = New-ScaleStore $ScaleEntries
        "`nScale: $ScaleEntries entries; median of 3 calls after one untimed, fresh pwsh (load average $((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -replace '^(\S+ \S+ \S+).*', '$1')):"
        # An entry in the middle (host7 holds the items i with i % 100 = 7), and a prefix that holds it and few others.
        $middle = [int]($ScaleEntries / 2) - [int]($ScaleEntries / 2) % 100 + 7
        $exact = "http://host7.example/item/$middle"
        $scale = Invoke-Figure @{ Kind = 'Scale'; Path = $path; Backend = ''; Exact = $exact; Prefix = $exact.Substring(0, $exact.Length - 1) + '*' }
        $scale | Format-Table -AutoSize | Out-String -Width 200

        # The hit against the big store and against a 1,000-entry one built the same way, interleaved.
        $small = New-ScaleStore 1000
        $hits = foreach ($round in 1..$Rounds) {
            foreach ($store in @(@{ Entries = 1000; Path = $small }, @{ Entries = $ScaleEntries; Path = $path })) {
                Write-Host "round $round/$Rounds  hit at $($store.Entries) entries"
                $r = Invoke-Figure @{ Kind = 'WebHit'; Backend = 'Sqlite'; Path = $store.Path; Origin = $origin; WarmUp = $WarmUp; Calls = $Calls; BodySize = $BodySize }
                [pscustomobject]@{ Round = $round; Entries = $store.Entries; Median = $r.Median; P99 = $r.P99 }
            }
        }
        $hitMedian = @{}
        $hits | Group-Object Entries | ForEach-Object {
            $m = @($_.Group.Median | Sort-Object)
            $hitMedian[[int]$_.Name] = $m[[int][math]::Floor(($m.Count - 1) / 2)]
        }
        "Invoke-CachedWebRequest hit over SQLite, $Calls calls after $WarmUp warm-up, $Rounds round(s) (load average $((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -replace '^(\S+ \S+ \S+).*', '$1')):"
        $hits | Format-Table -AutoSize | Out-String -Width 200
        "Median of the rounds: {0:N1} µs at 1,000 entries, {1:N1} µs at {2:N0}: {3:N2}x (target <= 1.2x)" -f $hitMedian[1000], $hitMedian[$ScaleEntries], $ScaleEntries, ($hitMedian[$ScaleEntries] / $hitMedian[1000])
        Remove-Item "$path*", "$small*" -Force -ErrorAction SilentlyContinue
    }
}
finally {
    if ($listener) { $listener.Stop() }
    if ($redisProcess) { Stop-Process -Id $redisProcess.Id -ErrorAction SilentlyContinue }
}
