using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Reading the module's objects, whose types this project does not reference (it tests the staged module).</summary>
internal static class PS
{
    /// <summary>A property's value, converted to T the way PowerShell would.</summary>
    public static T Prop<T>(this PSObject item, string name)
    {
        var property = item.Properties[name] ?? throw new Xunit.Sdk.XunitException($"'{item.BaseObject.GetType().FullName}' has no property '{name}'.");
        return LanguagePrimitives.ConvertTo<T>(property.Value);
    }

    /// <summary>The full type name of the output's base object.</summary>
    public static string TypeName(this PSObject item) => item.BaseObject.GetType().FullName!;

    /// <summary>A runspace importing the staged module, with <c>$origin</c> set to the origin's root URL.</summary>
    public static PowerShellSession Open(TestOrigin? origin = null)
    {
        var session = PowerShellSession.Create();
        if (origin is not null)
        {
            session.Runspace.SessionStateProxy.SetVariable("origin", origin.BaseAddress.AbsoluteUri);
        }

        return session;
    }

    /// <summary>Runs and fails the test unless the script ran clean.</summary>
    public static async Task<PowerShellResult> Ok(this PowerShellSession session, string script, params (string Name, object? Value)[] variables) =>
        (await session.RunAsync(script, variables)).AssertSuccess();

    /// <summary>
    /// Runs the script inside try/catch and returns the terminating error it caught (a cmdlet's
    /// ThrowTerminatingError, a parameter binding error: what try/catch sees, unlike WriteError), failing
    /// the test when there was none.
    /// </summary>
    public static async Task<ErrorRecord> Fails(this PowerShellSession session, string script, params (string Name, object? Value)[] variables)
    {
        var result = await session.RunAsync($"try {{\n{script}\n}} catch {{ $_ }}", variables);
        return result.Output.Count > 0 && result.Output[^1].BaseObject is ErrorRecord error && result.Errors.Count == 0
            ? error
            : throw new Xunit.Sdk.XunitException("Expected one terminating error." + Environment.NewLine + result);
    }

    /// <summary>Sets the runspace's location (Set-Location is not among the core commands).</summary>
    public const string SetLocation = "$null = $ExecutionContext.SessionState.Path.SetLocation($d)";
}
