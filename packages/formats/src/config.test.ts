import { describe, expect, it } from 'vitest';
import { parseModelConfig } from './config.js';

describe('parseModelConfig', () => {
  it('reads transformers and diffusers configs', () => {
    const bert = parseModelConfig(
      JSON.stringify({
        model_type: 'bert',
        architectures: ['BertForSequenceClassification'],
        transformers_version: '4.40.0',
        torch_dtype: 'float16',
        quantization_config: { quant_method: 'gptq' },
      }),
      'config.json',
    );
    expect(bert).toEqual({
      modelLike: true,
      modelType: 'bert',
      architecture: 'BertForSequenceClassification',
      properties: [
        { name: 'mlbom:config:transformersVersion', value: '4.40.0' },
        { name: 'mlbom:config:dtype', value: 'float16' },
        { name: 'mlbom:quantization', value: 'gptq' },
      ],
    });
    const unet = parseModelConfig('{"_class_name":"UNet2DConditionModel","_diffusers_version":"0.27.0"}', 'c');
    expect(unet.architecture).toBe('UNet2DConditionModel');
    expect(unet.properties).toEqual([{ name: 'mlbom:config:diffusersVersion', value: '0.27.0' }]);
    expect(parseModelConfig('{"vocab_size": 3}', 'c').modelLike).toBe(false);
  });

  it('reports a config that is no JSON object', () => {
    expect(parseModelConfig('{oops', 'm/config.json').problem).toMatchObject({
      code: 'CONFIG_INVALID',
      subject: 'm/config.json',
      message: expect.stringMatching(/^config\.json is not valid JSON: /),
    });
    expect(parseModelConfig('[1]', 'c').problem?.message).toBe('config.json is not a JSON object');
  });
});
