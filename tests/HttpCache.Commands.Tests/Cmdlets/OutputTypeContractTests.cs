using System.Xml.Linq;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The types users see are a contract: their names, public sealed, get-only properties, a table view each
/// whose columns name real properties, and an [OutputType] on the cmdlets that output them.
/// </summary>
public sealed class OutputTypeContractTests
{
    public static TheoryData<string> OutputTypes => ["HttpCache.CacheSession", "HttpCache.CachedResponse", "HttpCache.CacheEntry", "HttpCache.CacheStats", "HttpCache.CacheHostStats"];

    private static readonly Dictionary<string, string[]> RequiredProperties = new()
    {
        ["HttpCache.CacheSession"] = ["Name", "Backend", "Location", "ExpireAfter", "CacheControl", "AllowedMethods", "AllowedStatusCodes", "CreatedAt"],
        ["HttpCache.CachedResponse"] =
        [
            "StatusCode", "StatusDescription", "Headers", "Content", "RawContentLength", "RawContentStream", "FromCache", "IsExpired",
            "CreatedAt", "ExpiresAt", "CacheKey", "Revalidated", "Reason", "StoreReason", "StaleReason", "Age",
        ],
        ["HttpCache.CacheEntry"] = ["Key", "Method", "Uri", "StatusCode", "CreatedAt", "ExpiresAt", "IsExpired", "Size", "HitCount", "Session"],
        ["HttpCache.CacheStats"] =
        [
            "SessionName", "Backend", "Hits", "Misses", "HitRate", "Revalidations", "StaleServed", "Errors", "CorruptEntries", "Entries",
            "StoredBytes", "OldestEntry", "NewestEntry", "SessionHits", "SessionMisses", "Coalesced", "BackgroundRefreshes",
            "Invalidations", "Evictions", "StaleRate", "Health", "HealthReason", "Growth", "GrowthBytes", "SampledAt",
        ],
        ["HttpCache.CacheHostStats"] = ["Host", "Entries", "StoredBytes", "Hits", "ExpiredEntries", "OldestEntry", "NewestEntry", "LastAccessedAt", "SessionName", "Session"],
    };

    [Theory]
    [MemberData(nameof(OutputTypes))]
    public async Task TypeIsPublicSealedWithGetOnlyProperties(string typeName)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $t = [type]$name
            $t.IsPublic; $t.IsSealed
            @($t.GetProperties() | Where-Object { $_.SetMethod -and $_.SetMethod.IsPublic }).Count
            $t.GetProperties() | ForEach-Object { $_.Name }
            """, ("name", typeName));

        Assert.Equal(true, result.BaseOutput[0]);
        Assert.Equal(true, result.BaseOutput[1]);
        Assert.Equal(0, result.BaseOutput[2]);
        var properties = result.BaseOutput.Skip(3).Select(o => o.ToString()!).ToHashSet();
        Assert.Empty(RequiredProperties[typeName].Except(properties));
    }

    [Theory]
    [MemberData(nameof(OutputTypes))]
    public async Task FormatFileHasATableViewWhoseColumnsAreProperties(string typeName)
    {
        var format = XDocument.Load(Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Format.ps1xml"));
        var view = Assert.Single(format.Descendants("View"), v => v.Element("ViewSelectedBy")?.Element("TypeName")?.Value == typeName);
        var table = view.Element("TableControl");
        Assert.NotNull(table);
        var headers = table.Descendants("TableColumnHeader").Count();
        var items = table.Descendants("TableColumnItem").ToArray();
        Assert.Equal(headers, items.Length);

        using var ps = PS.Open();
        var properties = (await ps.Ok("([type]$name).GetProperties() | ForEach-Object { $_.Name }", ("name", typeName))).BaseOutput.Select(o => o.ToString()).ToHashSet();
        foreach (var property in items.Select(i => i.Element("PropertyName")?.Value).OfType<string>())
        {
            Assert.Contains(property, properties);
        }

        foreach (var script in items.Select(i => i.Element("ScriptBlock")?.Value).OfType<string>())
        {
            foreach (var used in System.Text.RegularExpressions.Regex.Matches(script, @"\$_\.(\w+)").Select(m => m.Groups[1].Value))
            {
                Assert.Contains(used, properties);
            }
        }
    }

    [Theory]
    [InlineData("New-HttpCacheSession", "HttpCache.CacheSession")]
    [InlineData("Invoke-CachedWebRequest", "HttpCache.CachedResponse")]
    [InlineData("Invoke-CachedRestMethod", "System.Management.Automation.PSObject,System.Xml.XmlDocument,System.String")]
    [InlineData("Get-HttpCacheEntry", "HttpCache.CacheEntry")]
    [InlineData("Remove-HttpCacheEntry", "HttpCache.CacheEntry")]
    [InlineData("Reset-HttpCacheExpiration", "HttpCache.CacheEntry")]
    [InlineData("Get-HttpCacheStats", "HttpCache.CacheStats,HttpCache.CacheHostStats")]
    public async Task CmdletDeclaresItsOutputType(string command, string typeNames)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(Get-Command $c).OutputType | ForEach-Object { $_.Name }", ("c", command));

        Assert.Equal(typeNames.Split(','), result.BaseOutput);
    }

    [Theory]
    [InlineData("Session", "HttpCache.CacheStats")]
    [InlineData("GroupBy", "HttpCache.CacheHostStats")]
    public async Task StatsOutputTypeFollowsTheParameterSet(string set, string typeName)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(Get-Command Get-HttpCacheStats).ParameterSets | Where-Object Name -eq $set | ForEach-Object { (Get-Command Get-HttpCacheStats).ImplementingType.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $false) } | Where-Object { $_.ParameterSetName -contains $set } | ForEach-Object { $_.Type.Name }", ("set", set));

        Assert.Equal([typeName], result.BaseOutput);
    }

    [Fact]
    public async Task ModuleExportsExactlyTheIssuesCmdlets()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("Get-Command -Module HttpCache | ForEach-Object { $_.Name }");

        Assert.Equal(
            [
                "Disable-HttpCache", "Enable-HttpCache", "Get-HttpCacheEntry", "Get-HttpCacheSession", "Get-HttpCacheStats", "Invoke-CachedRestMethod",
                "Invoke-CachedWebRequest", "New-HttpCacheSession", "Remove-HttpCacheEntry", "Reset-HttpCacheExpiration", "Use-HttpCache",
            ],
            result.BaseOutput.Select(o => o.ToString()).Order());
    }
}

/// <summary>
/// Format-List (and Format-List *) shows every public property of the output types: the format file has table
/// views only (no list or custom view that would pick properties), the module ships no types file (no
/// DefaultDisplayPropertySet, no hidden members), and every property of real objects reads without throwing.
/// </summary>
public sealed class FormatListTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    [Fact]
    public async Task NothingNarrowsFormatList()
    {
        var format = XDocument.Load(Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Format.ps1xml"));
        Assert.Empty(format.Descendants("ListControl"));
        Assert.Empty(format.Descendants("CustomControl"));
        Assert.Empty(format.Descendants("WideControl"));

        using var ps = PS.Open();
        var result = await ps.Ok("(Get-Module HttpCache).ExportedTypeFiles.Count");
        Assert.Equal([0], result.BaseOutput);
    }

    [Fact]
    public async Task EveryPropertyOfRealObjectsReads()
    {
        var path = fixture.Origin.NewPath("format");
        fixture.Origin.Map(path, HttpCache.Testing.OriginBehaviors.Counter());
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $objects = @(
                $s
                Invoke-CachedWebRequest -Uri $u -Session $s
                Get-HttpCacheEntry -Session $s
                Get-HttpCacheStats -Session $s
                Get-HttpCacheStats -Session $s -GroupBy Host
            )
            foreach ($o in $objects) {
                foreach ($p in $o.GetType().GetProperties()) {
                    try { $null = $p.GetValue($o) } catch { "$($o.GetType().Name).$($p.Name): $_" }
                }
                # What Format-List * lists: the adapted properties, one per public property.
                if (@($o.PSObject.Properties).Count -ne $o.GetType().GetProperties().Count) { "$($o.GetType().Name): adapted properties differ" }
            }
            $objects.Count
            """, ("u", fixture.Origin.Url(path).AbsoluteUri));

        Assert.Equal([5], result.BaseOutput);
    }
}
