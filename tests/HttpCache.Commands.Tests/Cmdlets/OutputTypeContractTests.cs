using System.Xml.Linq;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The types users see are a contract: their names, public sealed, get-only properties, a table view each
/// whose columns name real properties, and an [OutputType] on the cmdlets that output them.
/// </summary>
public sealed class OutputTypeContractTests
{
    public static TheoryData<string> OutputTypes => ["HttpCache.CacheSession", "HttpCache.CachedResponse", "HttpCache.CacheEntry", "HttpCache.CacheStats"];

    private static readonly Dictionary<string, string[]> RequiredProperties = new()
    {
        ["HttpCache.CacheSession"] = ["Name", "Backend", "Location", "ExpireAfter", "CacheControl", "AllowedMethods", "AllowedStatusCodes", "CreatedAt"],
        ["HttpCache.CachedResponse"] =
        [
            "StatusCode", "StatusDescription", "Headers", "Content", "RawContentLength", "RawContentStream", "FromCache", "IsExpired",
            "CreatedAt", "ExpiresAt", "CacheKey", "Revalidated", "Reason", "Age",
        ],
        ["HttpCache.CacheEntry"] = ["Key", "Method", "Uri", "StatusCode", "CreatedAt", "ExpiresAt", "IsExpired", "Size", "HitCount", "Session"],
        ["HttpCache.CacheStats"] =
        [
            "SessionName", "Backend", "Hits", "Misses", "HitRate", "Revalidations", "StaleServed", "Errors", "CorruptEntries", "Entries",
            "StoredBytes", "OldestEntry", "NewestEntry", "SessionHits", "SessionMisses",
        ],
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
    [InlineData("Get-HttpCacheEntry", "HttpCache.CacheEntry")]
    [InlineData("Reset-HttpCacheExpiration", "HttpCache.CacheEntry")]
    [InlineData("Get-HttpCacheStats", "HttpCache.CacheStats")]
    public async Task CmdletDeclaresItsOutputType(string command, string typeName)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(Get-Command $c).OutputType | ForEach-Object { $_.Name }", ("c", command));

        Assert.Equal([typeName], result.BaseOutput);
    }

    [Theory]
    [InlineData("Remove-HttpCacheEntry", "Medium")]
    [InlineData("Reset-HttpCacheExpiration", "Medium")]
    public async Task ChangingCmdletsSupportShouldProcess(string command, string impact)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("$c = Get-Command $n; $c.Parameters.ContainsKey('WhatIf'); $c.Parameters.ContainsKey('Confirm'); $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact.ToString()", ("n", command));

        Assert.Equal([true, true, impact], result.BaseOutput);
    }

    [Fact]
    public async Task ModuleExportsExactlyTheIssuesCmdlets()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("Get-Command -Module HttpCache | ForEach-Object { $_.Name }");

        Assert.Equal(
            ["Get-HttpCacheEntry", "Get-HttpCacheStats", "Invoke-CachedWebRequest", "New-HttpCacheSession", "Remove-HttpCacheEntry", "Reset-HttpCacheExpiration"],
            result.BaseOutput.Select(o => o.ToString()).Order());
    }
}
