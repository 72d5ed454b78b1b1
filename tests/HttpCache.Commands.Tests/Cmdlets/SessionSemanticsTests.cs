using System.Globalization;
using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Issue 3's semantics through New-HttpCacheSession's parameters, in hosted runspaces importing the staged
/// module, against a Kestrel origin. Lifetimes are observed, never waited for: entries are made stale with
/// ExpireImmediately, max-age=0 or Reset-HttpCacheExpiration, and lifetimes are read as ExpiresAt - CreatedAt.
/// </summary>
public sealed partial class SessionSemanticsTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.NewHttpCacheSessionCommand";
    private readonly TestOrigin origin = fixture.Origin;

    /// <summary>A fresh path on the origin answering with <paramref name="behavior"/> (the counter by default).</summary>
    private (string Path, string Url) Map(RequestDelegate? behavior = null, string name = "p")
    {
        var path = origin.NewPath(name);
        origin.Map(path, behavior ?? OriginBehaviors.Counter());
        return (path, origin.Url(path).AbsoluteUri);
    }

    /// <summary>The first request answered by <paramref name="first"/>, every later one by <paramref name="then"/>.</summary>
    private static RequestDelegate FirstThen(RequestDelegate first, RequestDelegate then) =>
        context => TestOrigin.RequestNumber(context) == 1 ? first(context) : then(context);

    private static RequestDelegate CounterWith(string name, string value) =>
        OriginBehaviors.Counter(new Dictionary<string, string> { [name] = value });

    /// <summary>PowerShell that outputs one response's lifetime in seconds, or 'never'.</summary>
    private const string Lifetime = "function lifetime($r) { if ($null -eq $r.ExpiresAt) { 'never' } else { [int][math]::Round(($r.ExpiresAt - $r.CreatedAt).TotalSeconds) } }";

    // ---- per-URL patterns -------------------------------------------------------------------------------

    [Fact]
    public async Task UrlPatternsGlobPrefixLeadingWildcardRegexAndNoMatch()
    {
        var (apiPath, _) = Map(name: "api");
        origin.Map(apiPath + "/items/1", OriginBehaviors.Counter());
        var (subPath, subUrl) = Map(name: "sub");
        var (rePath, reUrl) = Map(name: "re");
        var (strPath, strUrl) = Map(name: "str");
        var (_, otherUrl) = Map(name: "other");
        using var ps = PS.Open(origin);
        var result = await ps.Ok(Lifetime + """

            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 10 -UrlExpireAfter ([ordered]@{
                "127.0.0.1:*$api/" = 60                 # a glob is a prefix match on the URL without its scheme
                "*.0.0.1:*$sub" = '00:02:00'            # '*.' matches the labels before the host
                [regex]"$re`$" = 'NeverExpire'          # a regex is searched for in the whole URL
                "regex:^http://127\.0\.0\.1:\d+$str`$" = 'PT3M'
            })
            lifetime (Invoke-CachedWebRequest -Uri "${origin}$($api.TrimStart('/'))/items/1?q=1" -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $subUrl -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $reUrl -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $strUrl -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $otherUrl -Session $s)
            $s.UrlExpireAfter.Count
            """, ("api", apiPath), ("sub", subPath), ("re", rePath), ("str", strPath), ("subUrl", subUrl), ("reUrl", reUrl), ("strUrl", strUrl), ("otherUrl", otherUrl));

        Assert.Equal(["60", "120", "never", "180", "10", "4"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task UrlPatternsFirstMatchWinsInTheOrderGiven()
    {
        var (path, url) = Map(name: "first");
        using var ps = PS.Open(origin);
        var result = await ps.Ok(Lifetime + """

            $a = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$p" = 30; "*$p" = 90 })
            $b = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ "*$p" = 90; "127.0.0.1:*$p" = 30 })
            lifetime (Invoke-CachedWebRequest -Uri $u -Session $a)
            lifetime (Invoke-CachedWebRequest -Uri $u -Session $b)
            """, ("p", path), ("u", url));

        Assert.Equal([30, 90], result.BaseOutput.Select(Convert.ToInt32));
    }

    [Fact]
    public async Task UrlPatternsAsADenyListAndAnAllowList()
    {
        var (denied, deniedUrl) = Map(name: "deny");
        var (allowed, allowedUrl) = Map(name: "allow");
        var (other, otherUrl) = Map(name: "rest");
        using var ps = PS.Open(origin);
        var result = await ps.Ok("""
            # Deny-list: everything cached but one URL prefix.
            $deny = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$denied" = 'DoNotCache' })
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $deniedUrl -Session $deny } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            # Allow-list: nothing cached but one URL prefix.
            $allow = New-HttpCacheSession -Backend Memory -ExpireAfter DoNotCache -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$allowed" = 300 })
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $allowedUrl -Session $allow } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $otherUrl -Session $allow } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            """, ("denied", denied), ("deniedUrl", deniedUrl), ("allowed", allowed), ("allowedUrl", allowedUrl), ("otherUrl", otherUrl));

        Assert.Equal(
            [
                "False not-storable-do-not-cache", "False not-storable-do-not-cache",
                "False stored", "True ",
                "False not-storable-do-not-cache", "False not-storable-do-not-cache",
            ],
            result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(denied));
        Assert.Equal(1, origin.RequestCount(allowed));
        Assert.Equal(2, origin.RequestCount(other));
    }

    [Fact]
    public async Task APlainHashtableOfSeveralPatternsIsWarnedAbout()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("$null = New-HttpCacheSession -Backend Memory -UrlExpireAfter @{ 'a.example/' = 1; 'b.example/' = 2 }");

        Assert.Contains(result.Warnings, w => w.Contains("[ordered]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("@{ 'regex:(' = 60 }", "InvalidUrlPattern")]
    [InlineData("@{ '  ' = 60 }", "InvalidUrlPattern")]
    [InlineData("@{ 42 = 60 }", "InvalidUrlPattern")]
    [InlineData("@{ 'example.com/' = 'later' }", "InvalidExpiration")]
    public async Task BadUrlPatternsAreClearErrors(string rules, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory -UrlExpireAfter {rules}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task ARegexThatDoesNotParseFailsBeforeTheCmdletRuns()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ [regex]'(' = 60 })");

        // PowerShell's own cast to [regex] refuses it, naming the pattern's problem.
        Assert.Contains("(", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("regex", error.Exception.Message, StringComparison.OrdinalIgnoreCase);
    }

    // ---- calendar expiry -------------------------------------------------------------------------------

    [Theory]
    [InlineData("EndOfDay", "Asia/Tokyo")]
    [InlineData("EndOfWeek", "Europe/Paris")]
    [InlineData("EndOfDay", "America/New_York")]
    public async Task CalendarExpiryEndsAtTheNextLocalMidnightOfTheZone(string expireAt, string zoneId)
    {
        var (_, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExpireAt $at -TimeZone $tz
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            $s.ExpireAfter
            $s.TimeZone
            $r.CreatedAt.ToUniversalTime().ToString('o')
            $r.ExpiresAt.ToUniversalTime().ToString('o')
            """, ("at", expireAt), ("tz", zoneId), ("u", url));

        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var created = DateTimeOffset.Parse((string)result.BaseOutput[2], CultureInfo.InvariantCulture);
        var localDate = TimeZoneInfo.ConvertTime(created, zone).Date;
        var days = expireAt == "EndOfDay" ? 1 : localDate.DayOfWeek == DayOfWeek.Sunday ? 1 : 8 - (int)localDate.DayOfWeek;
        var midnight = DateTime.SpecifyKind(localDate.AddDays(days), DateTimeKind.Unspecified);
        var expected = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(midnight, zone), TimeSpan.Zero);

        Assert.Equal($"{expireAt} ({zone.Id})", result.BaseOutput[0]);
        Assert.Equal(zone.Id, result.BaseOutput[1]);
        Assert.Equal(expected, DateTimeOffset.Parse((string)result.BaseOutput[3], CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.Zero, TimeZoneInfo.ConvertTime(expected, zone).TimeOfDay);
    }

    [Fact]
    public async Task TimeZoneDefaultsToLocalAndAcceptsWindowsIds()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            (New-HttpCacheSession -Backend Memory -ExpireAt EndOfDay).TimeZone
            (New-HttpCacheSession -Backend Memory -ExpireAt EndOfDay -TimeZone 'Tokyo Standard Time').ExpireAfter
            """);

        Assert.Equal(TimeZoneInfo.Local.Id, result.BaseOutput[0]);
        Assert.Matches(@"^EndOfDay \((Tokyo Standard Time|Asia/Tokyo)\)$", (string)result.BaseOutput[1]);
    }

    [Fact]
    public async Task CalendarNamesWorkInUrlPatternsToo()
    {
        var (path, url) = Map(name: "daily");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -TimeZone 'UTC' -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$p" = 'EndOfDay' })
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            $r.ExpiresAt.ToUniversalTime().ToString('o')
            """, ("p", path), ("u", url));

        var expires = DateTimeOffset.Parse((string)result.BaseOutput[0], CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, expires.UtcDateTime.TimeOfDay);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromDays(1));
    }

    [Theory]
    [InlineData("-TimeZone 'Mars/Olympus_Mons' -ExpireAt EndOfDay", "InvalidTimeZone")]
    [InlineData("-ExpireAfter 60 -ExpireAt EndOfDay", "InvalidSessionOption")]
    public async Task BadCalendarOptionsAreClearErrors(string parameters, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory {parameters}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task TimeZoneTabCompletes()
    {
        var some = TimeZoneInfo.GetSystemTimeZones().First(z => z.Id.Contains('/', StringComparison.Ordinal) || z.Id.Contains(' ', StringComparison.Ordinal));
        var prefix = some.Id[..Math.Min(5, some.Id.Length)];
        using var ps = PS.Open();
        var result = await ps.Ok("(TabExpansion2 -inputScript $i -cursorColumn $i.Length).CompletionMatches | ForEach-Object { $_.ListItemText }", ("i", "New-HttpCacheSession -TimeZone " + prefix));

        Assert.Contains(some.Id, result.BaseOutput.Select(o => o.ToString()));
        Assert.All(result.BaseOutput, o => Assert.Contains(prefix, o.ToString()!, StringComparison.OrdinalIgnoreCase));
    }

    // ---- per-status lifetimes, two clocks, Reset-HttpCacheExpiration -------------------------------------

    [Fact]
    public async Task StatusExpireAfterCachesA404ForSixtySeconds()
    {
        var (path, url) = Map(OriginBehaviors.Status(404));
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            $s = New-HttpCacheSession -Backend Memory -StatusExpireAfter @{ 404 = 60; 410 = '1.00:00:00' }
            $first = Invoke-CachedWebRequest -Uri $u -Session $s -SkipHttpErrorCheck
            $second = Invoke-CachedWebRequest -Uri $u -Session $s -SkipHttpErrorCheck
            "$($first.StatusCode) $($first.StoreReason) $($second.StatusCode) $($second.FromCache)"
            lifetime $second
            $s.StatusExpireAfter[410]
            """, ("u", url));

        Assert.Equal(["404 stored 404 True", "60", "1.00:00:00"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("@{ 99 = 60 }", "InvalidSessionOption")]
    [InlineData("@{ 'x' = 60 }", "InvalidSessionOption")]
    [InlineData("@{ 404 = 'soon' }", "InvalidExpiration")]
    public async Task BadStatusExpireAfterIsAClearError(string rules, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory -StatusExpireAfter {rules}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task TwoClocksAnExpiredEntryIsKeptWithATtlOffsetAndGoneWithoutOne()
    {
        var (_, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            # Fresh-until is now (ExpireImmediately); kept-until is fresh-until + TtlOffset. Seeing a kept entry leave
            # once its offset has passed needs a clock the test moves: InvalidationAndLifetimeTests (engine) does that.
            $kept = New-HttpCacheSession -Backend Memory -ExpireAfter ExpireImmediately -TtlOffset 3600
            $gone = New-HttpCacheSession -Backend Memory -ExpireAfter ExpireImmediately -TtlOffset 0
            $null = Invoke-CachedWebRequest -Uri $u -Session $kept
            $null = Invoke-CachedWebRequest -Uri $u -Session $gone
            $entries = @(Get-HttpCacheEntry -Session $kept)
            "$($entries.Count) $($entries[0].IsExpired)"
            @(Get-HttpCacheEntry -Session $gone).Count
            $kept.KeepExpiredFor
            (New-HttpCacheSession -Backend Memory).KeepExpiredFor -eq $null
            (New-HttpCacheSession -Backend Memory -KeepExpiredFor 90).KeepExpiredFor
            """, ("u", url));

        Assert.Equal(["1 True", "0", "01:00:00", "True", "00:01:30"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task ResetHttpCacheExpirationAppliesToStoredEntries()
    {
        var (path, url) = Map();
        var (otherPath, otherUrl) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $null = Invoke-CachedWebRequest -Uri $o -Session $s
            Get-HttpCacheEntry -Session $s -Uri $u | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately
            Get-HttpCacheEntry -Session $s -Uri $o | Reset-HttpCacheExpiration -ExpireAfter 120
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            "$($r.FromCache) $($r.Reason)"
            $e = Get-HttpCacheEntry -Session $s -Uri $o
            [int][math]::Round(($e.ExpiresAt - [datetime]::Now).TotalSeconds)
            (Invoke-CachedWebRequest -Uri $o -Session $s).FromCache
            """, ("u", url), ("o", otherUrl));

        Assert.Equal("False miss-expired", result.BaseOutput[0]);
        Assert.InRange(Convert.ToInt32(result.BaseOutput[1], CultureInfo.InvariantCulture), 110, 120);
        Assert.Equal(true, result.BaseOutput[2]);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(1, origin.RequestCount(otherPath));
    }

    // ---- request and response directives ---------------------------------------------------------------

    [Theory]
    [InlineData("ExpireImmediately", "max-stale=60", "True stale-hit-max-stale", 1)]
    [InlineData("ExpireImmediately", "max-stale", "True stale-hit-max-stale", 1)]
    [InlineData("60", "no-cache", "False request-no-cache", 2)]
    [InlineData("60", "max-age=0", "False request-max-age", 2)]
    [InlineData("60", "min-fresh=120", "False request-min-fresh", 2)]
    [InlineData("60", "min-fresh=10", "True fresh-hit", 1)]
    [InlineData("60", "no-store", "False bypass-request-no-store", 2)]
    public async Task RequestDirectivesInHeaders(string sessionLifetime, string directive, string expected, int originRequests)
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter $life
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Cache-Control' = $directive }
            "$($r.FromCache) $($r.Reason)"
            """, ("life", sessionLifetime), ("u", url), ("directive", directive));

        Assert.Equal(expected, result.Single<string>());
        Assert.Equal(originRequests, origin.RequestCount(path));
    }

    [Fact]
    public async Task RequestOnlyIfCachedAndNoStore()
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Cache-Control' = 'only-if-cached' } -SkipHttpErrorCheck
            "$($r.StatusCode) $($r.Reason)"
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Cache-Control' = 'no-store' }
            "$($r.StatusCode) $($r.Reason)"
            @(Get-HttpCacheEntry -Session $s).Count
            """, ("u", url));

        Assert.Equal(["504 only-if-cached-miss", "200 bypass-request-no-store", "0"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task ResponseNoCacheIsStoredButValidatedEveryUse()
    {
        var (path, url) = Map(OriginBehaviors.ETag("\"v1\"", new Dictionary<string, string> { ["Cache-Control"] = "no-cache" }));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            1..3 | ForEach-Object { Invoke-CachedWebRequest -Uri $u -Session $s } | ForEach-Object { "$($_.Content) $($_.FromCache) $($_.Revalidated)" }
            """, ("u", url));

        Assert.Equal(["1 False False", "1 True True", "1 True True"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(3, origin.RequestCount(path));
        Assert.Equal("\"v1\"", origin.LastRequest(path)!.Header("If-None-Match"));
    }

    [Fact]
    public async Task AlwaysRevalidateRevalidatesEveryUseButImmutable()
    {
        var (plainPath, plainUrl) = Map(OriginBehaviors.ETag("\"a\"", new Dictionary<string, string> { ["Cache-Control"] = "max-age=600" }));
        var (immutablePath, immutableUrl) = Map(OriginBehaviors.ETag("\"b\"", new Dictionary<string, string> { ["Cache-Control"] = "max-age=600, immutable" }));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -AlwaysRevalidate
            $null = Invoke-CachedWebRequest -Uri $plain -Session $s
            $null = Invoke-CachedWebRequest -Uri $immutable -Session $s
            $r = Invoke-CachedWebRequest -Uri $plain -Session $s
            "$($r.FromCache) $($r.Revalidated) $($r.Reason)"
            $r = Invoke-CachedWebRequest -Uri $immutable -Session $s
            "$($r.FromCache) $($r.Revalidated) $($r.Reason)"
            $s.AlwaysRevalidate
            """, ("plain", plainUrl), ("immutable", immutableUrl));

        Assert.Equal(["True True revalidated", "True False fresh-hit", "True"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(plainPath));
        Assert.Equal(1, origin.RequestCount(immutablePath));
    }

    [Fact]
    public async Task HeuristicFreshnessIsOptIn()
    {
        var lastModified = DateTimeOffset.UtcNow.AddDays(-10);
        var (_, url) = Map(OriginBehaviors.LastModified(lastModified));
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            lifetime (Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory -HeuristicFreshness))
            lifetime (Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory))
            """, ("u", url));

        // 10% of the ten days since Last-Modified: about a day.
        Assert.InRange(Convert.ToInt32(result.BaseOutput[0], CultureInfo.InvariantCulture), 86_000, 86_500);
        Assert.Equal("never", result.BaseOutput[1]);
    }
}
