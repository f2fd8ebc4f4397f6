// One process with MlnetLstm.Trainers and Microsoft.ML.TorchSharp (on the TorchSharp 0.107 both resolve to):
//   1. trains a tiny MlnetLstm character model and checks what it generates (must work);
//   2. constructs Microsoft.ML.TorchSharp's trainers (must work; their Fit downloads pretrained weights, which this
//      check never does);
//   3. records which of Microsoft.ML.TorchSharp's methods the JIT cannot compile against the loaded TorchSharp (a
//      member it references is missing or changed): printed as "jit-missing: <method>: <exception>", then a count.
// Exits 1 when 1 or 2 fails; 3 is a record, not a failure.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.TorchSharp;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

int failures = 0;
var ml = new MLContext(seed: 1);

// 1. MlnetLstm
string[] lines = { "the cat sat on the mat.", "the dog sat on the log." };
var data = ml.Data.LoadFromEnumerable(Enumerable.Repeat(lines, 20).SelectMany(l => l).Select(t => new TextRow { Text = t }).ToList());
var options = new RecurrentLanguageModelTrainer.Options
{
    HiddenSize = 32, Epochs = 30, SequenceLength = 16, BatchSize = 16, Optimizer = Optimizer.Adam, LearningRate = 0.02,
    Seed = 1, NumberOfThreads = 1, Generation = new GenerationOptions { MaximumNewTokens = 20 },
};
var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.Transforms.Text.RecurrentLanguageModel(options)).Fit(data);
using (var engine = ml.Model.CreatePredictionEngine<TextRow, Generation>(model))
{
    string generated = engine.Predict(new TextRow { Text = "the dog " }).Generated;
    Console.WriteLine($"mlnetlstm: trained, 'the dog ' continues '{generated}'");
    if (generated.Length == 0)
    {
        Console.Error.WriteLine("check failed: MlnetLstm generated nothing");
        failures++;
    }
}

// 2. Microsoft.ML.TorchSharp's trainers, constructed only
var constructors = new (string Name, Func<object> Create)[]
{
    ("TextClassification", () => ml.MulticlassClassification.Trainers.TextClassification(labelColumnName: "Label", sentence1ColumnName: "Sentence1")),
    ("SentenceSimilarity", () => ml.Regression.Trainers.SentenceSimilarity(labelColumnName: "Label", sentence1ColumnName: "Sentence1", sentence2ColumnName: "Sentence2")),
    ("NamedEntityRecognition", () => ml.MulticlassClassification.Trainers.NamedEntityRecognition(labelColumnName: "Label", sentence1ColumnName: "Sentence1")),
    ("QuestionAnswer", () => ml.MulticlassClassification.Trainers.QuestionAnswer()),
    ("ObjectDetection", () => ml.MulticlassClassification.Trainers.ObjectDetection(labelColumnName: "Labels", predictedLabelColumnName: "PredictedLabel", boundingBoxColumnName: "Box", imageColumnName: "Image")),
};
foreach (var (name, create) in constructors)
{
    try
    {
        Console.WriteLine($"constructed: {name} ({create().GetType().Name})");
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"check failed: constructing {name}: {e.GetType().Name}: {e.Message}");
        failures++;
    }
}

// 3. JIT every non-generic method of Microsoft.ML.TorchSharp against the loaded TorchSharp.
var assembly = typeof(TorchSharpCatalog).Assembly;
var torchSharp = typeof(TorchSharp.torch).Assembly;
Console.WriteLine($"loaded: {assembly.GetName().Name} {Informational(assembly)}, TorchSharp {Informational(torchSharp)}");
var missing = new List<string>();
int compiled = 0;
Type[] types;
try
{
    types = assembly.GetTypes();
}
catch (ReflectionTypeLoadException e)
{
    types = e.Types.Where(t => t is not null).ToArray()!;
    foreach (var loader in e.LoaderExceptions.Where(x => x is not null))
        missing.Add($"type load: {loader!.Message}");
}
const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
foreach (var type in types.Where(t => !t.ContainsGenericParameters))
{
    IEnumerable<MethodBase> methods;
    try
    {
        methods = type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)).ToList();
    }
    catch (Exception e)
    {
        missing.Add($"{type.FullName}: {e.GetType().Name}: {e.Message}");
        continue;
    }
    foreach (var method in methods.Where(m => !m.IsAbstract && !m.ContainsGenericParameters && m.GetMethodBody() is not null))
    {
        try
        {
            RuntimeHelpers.PrepareMethod(method.MethodHandle);
            compiled++;
        }
        catch (Exception e) when (e is MissingMemberException or TypeLoadException or BadImageFormatException or InvalidProgramException)
        {
            missing.Add($"{type.FullName}.{method.Name}: {e.GetType().Name}: {e.Message}");
        }
    }
}
foreach (var line in missing)
    Console.WriteLine($"jit-missing: {line}");
Console.WriteLine($"jit: {compiled} methods of {assembly.GetName().Name} compiled, {missing.Count} failed");
return failures == 0 ? 0 : 1;

static string Informational(Assembly a) => a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "?";

/// <summary>Input row.</summary>
public sealed class TextRow
{
    /// <summary>A line or a prefix.</summary>
    public string Text { get; set; } = "";
}

/// <summary>The output used here.</summary>
public sealed class Generation
{
    /// <summary>The continuation.</summary>
    public string Generated { get; set; } = "";
}
