using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace HttpCache.PSHost;

/// <summary>
/// The PSHost the runspace talks to. Without a real host, Write-Verbose/Write-Warning and Out-Default
/// have nowhere to write, and $Host.UI calls fail.
/// </summary>
internal sealed class ScriptHost : System.Management.Automation.Host.PSHost
{
    private readonly Guid _instanceId = Guid.NewGuid();

    internal ConsoleUserInterface Console { get; } = new();

    /// <summary>The code of <c>exit N</c> at the script's top level, if it ran.</summary>
    internal int? ExitCode { get; private set; }

    public override string Name => "HttpCache.PSHost";

    public override Version Version { get; } = typeof(ScriptHost).Assembly.GetName().Version ?? new Version(1, 0);

    public override Guid InstanceId => _instanceId;

    public override PSHostUserInterface UI => Console;

    // Invariant culture: output that tests parse must not depend on the machine's locale.
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;

    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;

    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;

    public override void EnterNestedPrompt() => throw NonInteractive();

    public override void ExitNestedPrompt() => throw NonInteractive();

    public override void NotifyBeginApplication()
    {
    }

    public override void NotifyEndApplication()
    {
    }

    internal static PSInvalidOperationException NonInteractive() =>
        new("HttpCache.PSHost is non-interactive: prompts, Read-Host and nested prompts are not available. Pass -Confirm:$false or -Force to commands that would ask.");
}

/// <summary>
/// Writes what the engine shows to the console: output and the informational streams on stdout,
/// errors on stderr. Prompts fail at once: a test must never hang waiting for input.
/// </summary>
internal sealed class ConsoleUserInterface : PSHostUserInterface
{
    private readonly object _gate = new(); // ForEach-Object -Parallel writes from several threads
    private readonly ConsoleRawUserInterface _rawUI = new();

    public override PSHostRawUserInterface RawUI => _rawUI;

    public override bool SupportsVirtualTerminal => false;

    public override void Write(string value) => Out(value, newLine: false);

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Out(value, newLine: false);

    public override void WriteLine(string value) => Out(value, newLine: true);

    public override void WriteErrorLine(string value) => Err(value);

    public override void WriteDebugLine(string message) => Out("DEBUG: " + message, newLine: true);

    public override void WriteVerboseLine(string message) => Out("VERBOSE: " + message, newLine: true);

    public override void WriteWarningLine(string message) => Out("WARNING: " + message, newLine: true);

    // No WriteInformation override: the engine itself writes Write-Host text and information the
    // preference lets through with Write/WriteLine; WriteInformation sees every record (for
    // transcripts) and printing there would show what the preference hides.

    // Progress is for people watching a terminal; in captured output it is noise.
    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
    }

    public override string ReadLine() => throw ScriptHost.NonInteractive();

    public override SecureString ReadLineAsSecureString() => throw ScriptHost.NonInteractive();

    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) =>
        throw ScriptHost.NonInteractive();

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        throw ScriptHost.NonInteractive();

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
        throw ScriptHost.NonInteractive();

    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) =>
        throw ScriptHost.NonInteractive();

    /// <summary>An error as pwsh's NormalView shows it, always with the FullyQualifiedErrorId.</summary>
    internal void WriteErrorRecord(ErrorRecord record, bool terminating)
    {
        var message = record.ErrorDetails?.Message is { Length: > 0 } details ? details : record.Exception?.Message ?? record.ToString();
        var lines = new List<string> { (terminating ? "ERROR (terminating): " : "ERROR: ") + message };
        if (record.InvocationInfo?.PositionMessage is { Length: > 0 } position)
        {
            lines.Add(position);
        }

        lines.Add("    + CategoryInfo          : " + record.CategoryInfo);
        lines.Add("    + FullyQualifiedErrorId : " + record.FullyQualifiedErrorId);
        if (terminating && record.ScriptStackTrace is { Length: > 0 } stack)
        {
            lines.Add("    + ScriptStackTrace      : " + stack.Replace("\n", "\n                              ", StringComparison.Ordinal));
        }

        Err(string.Join(Environment.NewLine, lines));
    }

    internal void Flush()
    {
        lock (_gate)
        {
            System.Console.Out.Flush();
            System.Console.Error.Flush();
        }
    }

    private void Out(string value, bool newLine)
    {
        // The formatter decorates table headers with ANSI escapes whatever the host says; PowerShell's
        // own hosts strip them here according to $PSStyle.OutputRendering (PlainText for us).
        value = GetOutputString(value, SupportsVirtualTerminal);
        lock (_gate)
        {
            if (newLine)
            {
                System.Console.Out.WriteLine(value);
            }
            else
            {
                System.Console.Out.Write(value);
            }
        }
    }

    private void Err(string value)
    {
        value = GetOutputString(value, SupportsVirtualTerminal);
        lock (_gate)
        {
            System.Console.Out.Flush(); // keep stdout and stderr in order when both go to one terminal
            System.Console.Error.WriteLine(value);
        }
    }
}

/// <summary>A fixed-size, colourless console: enough for the formatter to lay out tables.</summary>
internal sealed class ConsoleRawUserInterface : PSHostRawUserInterface
{
    private readonly int _width = ChooseWidth();

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

    public override Size BufferSize
    {
        get => new(_width, 9999);
        set { }
    }

    public override Coordinates CursorPosition { get; set; }

    public override int CursorSize { get; set; } = 25;

    public override bool KeyAvailable => false;

    public override Size MaxPhysicalWindowSize => new(_width, 9999);

    public override Size MaxWindowSize => new(_width, 9999);

    public override Coordinates WindowPosition { get; set; }

    public override Size WindowSize
    {
        get => new(_width, 50);
        set { }
    }

    public override string WindowTitle { get; set; } = "HttpCache.PSHost";

    public override void FlushInputBuffer()
    {
    }

    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException("HttpCache.PSHost has no screen buffer.");

    public override KeyInfo ReadKey(ReadKeyOptions options) => throw ScriptHost.NonInteractive();

    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill)
    {
    }

    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents)
    {
    }

    public override void SetBufferContents(Rectangle rectangle, BufferCell fill)
    {
    }

    private static int ChooseWidth()
    {
        // Captured output gets a wide, stable width so tables are not cut to a terminal's.
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var columns) && columns > 20)
        {
            return columns;
        }

        if (!System.Console.IsOutputRedirected)
        {
            try
            {
                var width = System.Console.WindowWidth;
                if (width > 20)
                {
                    return width;
                }
            }
            catch (IOException)
            {
                // no console attached
            }
        }

        return 160;
    }
}
