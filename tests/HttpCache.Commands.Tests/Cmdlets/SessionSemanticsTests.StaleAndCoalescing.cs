using System.Globalization;
using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

public sealed partial class SessionSemanticsTests
{
    // ---- stale-if-error, stale-while-revalidate, coalescing --------------------------------------------

    [Theory]
    [InlineData("500", "$true")]
    [InlineData("500", "'01:00:00'")]
    [InlineData("drop", "$true")]
    [InlineData("drop", "3600")]
    public async Task StaleIfErrorServesTheExpiredEntryWhenTheOriginFails(string failure, string window)
    {
        var (path, url) = Map(FirstThen(OriginBehaviors.MaxAge(0), failure == "drop" ? OriginBehaviors.Drop() : OriginBehaviors.Status(500)));
        using var ps = PS.Open();
        var result = await ps.Ok($$"""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError {{window}}
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            "$($r.StatusCode) $($r.Content) $($r.FromCache) $($r.IsExpired) $($r.Reason)"
            """, ("u", url));

        Assert.Equal("200 1 True True stale-if-error", result.Single<string>());
        // A dropped connection may be retried once by the HTTP stack on a fresh connection.
        Assert.InRange(origin.RequestCount(path), 2, failure == "drop" ? 3 : 2);
    }

    [Fact]
    public async Task StaleIfErrorNeverPassesMustRevalidateNorAppliesWithoutTheOption()
    {
        var (mustPath, mustUrl) = Map(FirstThen(CounterWith("Cache-Control", "max-age=0, must-revalidate"), OriginBehaviors.Status(500)));
        var (plainPath, plainUrl) = Map(FirstThen(OriginBehaviors.MaxAge(0), OriginBehaviors.Status(500)));
        using var ps = PS.Open();
        var must = await ps.Fails("""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $true
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s
            """, ("u", mustUrl));
        var without = await ps.Fails("""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $false
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s
            """, ("u", plainUrl));

        Assert.Equal("WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedWebRequestCommand", must.FullyQualifiedErrorId);
        Assert.Equal("WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedWebRequestCommand", without.FullyQualifiedErrorId);
        Assert.Equal(2, origin.RequestCount(mustPath));
        Assert.Equal(2, origin.RequestCount(plainPath));
    }

    [Fact]
    public async Task StaleWhileRevalidateAnswersAtOnceAndRefreshesOnceInTheBackground()
    {
        // The first answer is stale at once; the refresh (fresh for ten minutes) is held at the origin until the
        // test lets it go, so the ten stale answers certainly came while it was still running: had any of them
        // waited for it, the first script would never end.
        var gate = new OriginGate();
        var (path, url) = Map(FirstThen(OriginBehaviors.MaxAge(0), gate.Hold(OriginBehaviors.MaxAge(600))));
        using var ps = PS.Open();
        var stale = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -StaleWhileRevalidate $true
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            1..10 | ForEach-Object { Invoke-CachedWebRequest -Uri $u -Session $s } | ForEach-Object { "$($_.Content) $($_.FromCache) $($_.IsExpired) $($_.Reason)" }
            """, ("u", url));
        await gate.WhenHeldAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, gate.Arrived); // one refresh for ten stale answers

        gate.Release();
        var refreshed = await ps.Ok("""
            # The background refresh ends on its own once the origin answers; poll until its answer is stored.
            $deadline = [datetime]::Now.AddSeconds(20)
            do { $r = Invoke-CachedWebRequest -Uri $u -Session $s; if ($r.Content -ne '2') { [System.Threading.Thread]::Sleep(20) } }
            while ($r.Content -ne '2' -and [datetime]::Now -lt $deadline)
            "$($r.Content) $($r.FromCache) $($r.IsExpired) $($r.Reason)"
            """, ("u", url));

        var lines = stale.BaseOutput.Select(o => o.ToString()).ToArray();
        Assert.Equal(10, lines.Length);
        Assert.All(lines, line => Assert.Equal("1 True True stale-while-revalidate", line));
        Assert.Equal(["2 True False fresh-hit"], refreshed.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task ConcurrentIdenticalRequestsFromRunspacesAreCoalescedIntoOne()
    {
        // The origin holds the first request until every runspace has started its call (each signals first), so
        // the calls overlap the first one's trip to the origin instead of hoping a slow answer makes them.
        var gate = new OriginGate();
        var (path, url) = Map(gate.Hold(OriginBehaviors.Counter()));
        using var started = new CountdownEvent(6);
        using var ps = PS.Open();
        var run = ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $iss = [initialsessionstate]::CreateDefault2()
            $iss.ImportPSModule($manifest)
            $pool = [runspacefactory]::CreateRunspacePool(6, 6, $iss, $Host)
            $pool.Open()
            $jobs = 1..6 | ForEach-Object {
                $p = [powershell]::Create().AddScript({ param($s, $u, $started) $null = $started.Signal(); Invoke-CachedWebRequest -Uri $u -Session $s }).AddArgument($s).AddArgument($u).AddArgument($started)
                $p.RunspacePool = $pool
                [pscustomobject]@{ PowerShell = $p; Handle = $p.BeginInvoke() }
            }
            $answers = $jobs | ForEach-Object { $_.PowerShell.EndInvoke($_.Handle); $_.PowerShell.Dispose() }
            $pool.Dispose()
            $answers | ForEach-Object { "$($_.Content) $($_.Reason)" }
            """, ("u", url), ("manifest", RepoPaths.ModuleManifest), ("started", started));
        await gate.WhenHeldAsync(1).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(await Task.Run(() => started.Wait(TimeSpan.FromSeconds(60))), "the runspaces did not all start");
        Assert.Equal(1, gate.Arrived);
        gate.Release();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));

        var answers = result.BaseOutput.Select(o => o.ToString()!).ToArray();
        Assert.Equal(6, answers.Length);
        Assert.All(answers, a => Assert.StartsWith("1 ", a, StringComparison.Ordinal));
        Assert.Single(answers, a => a == "1 miss-no-entry");
        Assert.Contains("1 coalesced", answers);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("-StaleIfError 'soon'", "InvalidSessionOption")]
    [InlineData("-StaleWhileRevalidate ([datetime]::Now)", "InvalidSessionOption")]
    [InlineData("-StaleIfError DoNotCache", "InvalidSessionOption")]
    [InlineData("-MatchHeaders 42", "InvalidSessionOption")]
    [InlineData("-MatchHeaders 'Bad Header'", "InvalidSessionOption")]
    [InlineData("-IgnoredParameters ''", "InvalidSessionOption")]
    [InlineData("-Shared -Private", "InvalidSessionOption")]
    // A negative duration is refused while the argument is converted, as any bad duration is.
    [InlineData("-TtlOffset -5", "ParameterArgumentTransformationError")]
    public async Task BadSemanticOptionsAreClearErrors(string parameters, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory {parameters}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task StaleWindowsAcceptTrueFalseAndDurations()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $true -StaleWhileRevalidate 30
            $s.StaleIfError -eq [timespan]::MaxValue
            $s.StaleWhileRevalidate
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $false -StaleWhileRevalidate 'PT1H'
            $null -eq $s.StaleIfError
            $s.StaleWhileRevalidate
            $null -eq (New-HttpCacheSession -Backend Memory).StaleIfError
            """);

        Assert.Equal(["True", "00:00:30", "True", "01:00:00", "True"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }
}
