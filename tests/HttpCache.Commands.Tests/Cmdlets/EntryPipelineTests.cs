using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Get-HttpCacheEntry's filters beyond -Uri/-Key/-Expired, and the hit counts entries carry.</summary>
public sealed class EntryFilterTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    [Fact]
    public async Task MethodAndStatusCodeFilterTheEntries()
    {
        var get = Urls(1)[0];
        var post = Urls(1)[0];
        var missing = Origin.Url(Origin.NewPath("nothing-mapped")).AbsoluteUri; // answers 404
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -AllowedMethods GET, POST -AllowedStatusCodes 200, 404
            $null = Invoke-CachedWebRequest -Uri $get -Session $s
            $null = Invoke-CachedWebRequest -Uri $post -Method POST -Body 'x' -Session $s
            $null = Invoke-CachedWebRequest -Uri $missing -Session $s -SkipHttpErrorCheck
            """, ("get", get), ("post", post), ("missing", missing));

        Assert.Equal([post], (await ps.Ok("Get-HttpCacheEntry -Session $s -Method post | ForEach-Object Uri")).BaseOutput);
        Assert.Equal(new[] { get, missing }.Order(), (await ps.Ok("Get-HttpCacheEntry -Session $s -Method GET | ForEach-Object Uri")).BaseOutput.Cast<string>().Order());
        Assert.Equal([missing], (await ps.Ok("Get-HttpCacheEntry -Session $s -StatusCode 404 | ForEach-Object Uri")).BaseOutput);
        Assert.Equal(3, (await ps.Ok("Get-HttpCacheEntry -Session $s -StatusCode 200, 404")).Output.Count);
        Assert.Equal([get], (await ps.Ok("Get-HttpCacheEntry -Session $s -StatusCode 200 -Method GET | ForEach-Object Uri")).BaseOutput);
    }

    [Fact]
    public async Task OlderThanAndNewerThanSelectByAge()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);

        Assert.Equal(2, (await ps.Ok("Get-HttpCacheEntry -Session $s -NewerThan '01:00:00'")).Output.Count);
        Assert.Empty((await ps.Ok("Get-HttpCacheEntry -Session $s -OlderThan 3600")).Output);
        Assert.Equal(2, (await ps.Ok("Get-HttpCacheEntry -Session $s -OlderThan ([TimeSpan]::Zero)")).Output.Count);
        Assert.Empty((await ps.Ok("Get-HttpCacheEntry -Session $s -NewerThan ([TimeSpan]::Zero)")).Output);
        // Both: stored in between.
        Assert.Equal(2, (await ps.Ok("Get-HttpCacheEntry -Session $s -OlderThan 0 -NewerThan 'P1D'")).Output.Count);
    }

    [Fact]
    public async Task BadNewerThanIsAParameterBindingError()
    {
        using var ps = await WithStored(Urls(1));
        var error = await ps.Fails("Get-HttpCacheEntry -Session $s -NewerThan 'lately'");

        Assert.Equal("ParameterArgumentTransformationError,HttpCache.Commands.GetHttpCacheEntryCommand", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task HitCountSaysHowOftenAnEntryWasServed()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("""
            1..3 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $u -Session $s }
            Get-HttpCacheEntry -Session $s | ForEach-Object { "$($_.Uri) $($_.HitCount) $($null -ne $_.LastAccessedAt)" }
            """, ("u", urls[0]));

        Assert.Equal(new[] { $"{urls[0]} 3 True", $"{urls[1]} 0 False" }.Order(), result.BaseOutput.Cast<string>().Order());
    }
}

/// <summary>Remove-HttpCacheEntry's pipeline input (entries, URLs, keys), -PassThru and its progress bar.</summary>
public sealed class RemoveFromThePipelineTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    private const string Cmdlet = "HttpCache.Commands.RemoveHttpCacheEntryCommand";

    [Fact]
    public async Task PipedUrlsAreRemovedAsPatterns()
    {
        var alpha = Urls(2, "alpha");
        var beta = Urls(1, "beta");
        using var ps = await WithStored([.. alpha, .. beta]);
        await ps.Ok("$b | Remove-HttpCacheEntry -Session $s; '*/ALPHA-*' | Remove-HttpCacheEntry -Session $s", ("b", beta[0]));

        Assert.Empty(await StoredUris(ps));
    }

    [Fact]
    public async Task PipedKeysAreRemovedAsKeys()
    {
        var urls = Urls(3);
        using var ps = await WithStored(urls);
        await ps.Ok("""
            $keys = Get-HttpCacheEntry -Session $s | Where-Object Uri -ne $keep | ForEach-Object Key
            $keys | Remove-HttpCacheEntry -Session $s
            """, ("keep", urls[1]));

        Assert.Equal([urls[1]], await StoredUris(ps));
    }

    [Fact]
    public async Task PipedAnswerRemovesTheEntryThatAnsweredByItsCacheKey()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        await ps.Ok("Invoke-CachedWebRequest -Uri $u -Session $s | Remove-HttpCacheEntry -Session $s", ("u", urls[0]));

        Assert.Equal([urls[1]], await StoredUris(ps));
    }

    [Fact]
    public async Task PositionalUrlIsAPattern()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        await ps.Ok("Remove-HttpCacheEntry $u -Session $s", ("u", urls[0]));

        Assert.Equal([urls[1]], await StoredUris(ps));
    }

    [Fact]
    public async Task PassThruOutputsWhatWentAndNothingUnderWhatIf()
    {
        var urls = Urls(3);
        using var ps = await WithStored(urls);
        var whatIf = await ps.Ok("Get-HttpCacheEntry -Session $s | Remove-HttpCacheEntry -PassThru -WhatIf");
        Assert.Empty(whatIf.Output);

        var piped = await ps.Ok("Get-HttpCacheEntry -Session $s -Uri $u | Remove-HttpCacheEntry -PassThru", ("u", urls[0]));
        var removed = Assert.Single(piped.Output);
        Assert.Equal("HttpCache.CacheEntry", removed.TypeName());
        Assert.Equal(urls[0], removed.Prop<string>("Uri"));

        var filtered = await ps.Ok("Remove-HttpCacheEntry -Session $s -Uri $u -PassThru | ForEach-Object Uri", ("u", urls[1]));
        Assert.Equal([urls[1]], filtered.BaseOutput);

        var all = await ps.Ok("Remove-HttpCacheEntry -Session $s -All -Force -PassThru | ForEach-Object Uri");
        Assert.Equal([urls[2]], all.BaseOutput);
        Assert.Empty(await StoredUris(ps));
    }

    [Fact]
    public async Task PipedEntriesWithAFilterAreRemovedOnlyWhenTheyMatch()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        // Entries bind by property name (Uri, Key) once -Expired puts the command in the filter set.
        await ps.Ok("""
            $null = Get-HttpCacheEntry -Session $s -Uri $u | Reset-HttpCacheExpiration -ExpireAfter 0
            Get-HttpCacheEntry -Session $s | Remove-HttpCacheEntry -Session $s -Expired
            """, ("u", urls[0]));

        Assert.Equal([urls[1]], await StoredUris(ps));
    }

    [Fact]
    public async Task ManyEntriesShowAProgressBar()
    {
        var path = Origin.NewPath("many");
        Origin.Map(path, OriginBehaviors.Counter());
        var urls = Enumerable.Range(0, BulkCount).Select(i => Origin.Url($"{path}?i={i}").AbsoluteUri).ToArray();
        using var ps = PS.Open();
        await ps.Ok("$s = New-HttpCacheSession -Backend Memory; $urls | Invoke-CachedWebRequest -Session $s -ThrottleLimit 8 | ForEach-Object { $null = $_ }", ("urls", urls));

        var filtered = await ps.Ok("Remove-HttpCacheEntry -Session $s -Uri '*many*' -PassThru | ForEach-Object { $null = $_ }; @(Get-HttpCacheEntry -Session $s).Count");

        Assert.Equal([0], filtered.BaseOutput);
        var bars = filtered.Progress.Where(p => p.Activity == "Removing cache entries").ToArray();
        Assert.NotEmpty(bars);
        Assert.Contains(bars, p => p.PercentComplete == 100);
        Assert.Equal(ProgressRecordType.Completed, bars[^1].RecordType);

        // Few entries: no bar.
        await ps.Ok("$urls | Invoke-CachedWebRequest -Session $s | ForEach-Object { $null = $_ }", ("urls", urls.Take(3).ToArray()));
        var few = await ps.Ok("Remove-HttpCacheEntry -Session $s -Uri '*many*'");
        Assert.DoesNotContain(few.Progress, p => p.Activity == "Removing cache entries");
    }

    private const int BulkCount = 120;
}
