/// Fixed inputs of the golden tests: (name, token ids with [CLS]/[SEP]).
/// "weather" is the tokenizer's output for "The weather is lovely today.";
/// "seq128" is 128 tokens; "seq300" is cut to 256 by the truncation rule.
pub fn golden_inputs() -> Vec<(&'static str, Vec<u32>)> {
    let seq = |n: u32| -> Vec<u32> {
        let mut t = vec![101];
        t.extend((0..n - 2).map(|i| 1000 + (i * 7919) % 29000));
        t.push(102);
        t
    };
    vec![
        ("weather", vec![101, 1996, 4633, 2003, 8403, 2651, 1012, 102]),
        ("seq128", seq(128)),
        ("seq300", seq(300)),
    ]
}
